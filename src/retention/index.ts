/**
 * Retention: which snapshots to keep, as pure functions of names and times. The rules of
 * `keep_sender` / `keep_receiver` (zrepl's words: `last_n`, `grid`, `regex`, `not_replicated`) and
 * zferry's snapshot name format.
 *
 * It must not: read a clock (`now` is the newest snapshot, or comes from the caller), run zfs, or
 * know about the protection of the incremental base — the caller removes the base and held
 * snapshots from the candidates before asking.
 */
export type { Candidate, GridInterval, KeepRule } from "./types.ts";
export { gridKeeps, parseGrid } from "./grid.ts";
export { lastNKeeps } from "./last-n.ts";
export { regexKeeps } from "./regex.ts";
export { notReplicatedKeeps } from "./not-replicated.ts";
export { describeRule, evaluateKeep, type Verdict } from "./evaluate.ts";
export { formatSnapshotName, parseSnapshotTime } from "./snapshot-name.ts";
