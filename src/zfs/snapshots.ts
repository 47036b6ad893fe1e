/**
 * Taking and destroying snapshots in as few zfs calls as the binary allows: OpenZFS takes
 * `zfs snapshot a@n b@n …` atomically (one txg) and `zfs destroy fs@a,b,c` in one call; zfs-fuse
 * (pool v23) takes one name per call for both. Every OpenZFS with bookmarks (0.6.4+) has both
 * forms (0.6.1 and 0.6.2), so the bookmark capability decides.
 */
import { eachAtOnce } from "../sys/each-at-once.ts";
import type { DatasetName, VersionShortName } from "./names.ts";
import type { ZfsRunOptions, ZfsRunner } from "./runner.ts";

/** Snapshots taken at once where zfs takes one name a command: they share the sync of a txg. */
const SNAPSHOT_WORKERS = 4;

/**
 * Snapshots every dataset in `datasets` as `name`; never `-r`, so a child the caller did not
 * list is never touched. Atomic where zfs allows it; elsewhere SNAPSHOT_WORKERS at a time.
 * @throws ZfsError when zfs fails (on zfs-fuse the snapshots made before the failure remain)
 */
export async function createSnapshots(runner: ZfsRunner, datasets: readonly DatasetName[], options: ZfsRunOptions & { name: VersionShortName }): Promise<void> {
  const { name, ...run } = options;
  if (datasets.length === 0) return;
  if ((await runner.capabilities()).bookmarks) {
    await runner.run(["snapshot", ...datasets.map((d) => `${d}@${name}`)], run);
    return;
  }
  await eachAtOnce(datasets, SNAPSHOT_WORKERS, async (d) => void (await runner.run(["snapshot", `${d}@${name}`], run)));
}

/**
 * Destroys `names` of `dataset`: one `zfs destroy fs@a,b,c` on OpenZFS (all or nothing: a held
 * snapshot fails the whole call), one call per snapshot on zfs-fuse.
 * @throws ZfsError when zfs fails
 */
export async function destroySnapshots(runner: ZfsRunner, dataset: DatasetName, options: ZfsRunOptions & { names: readonly VersionShortName[] }): Promise<void> {
  const { names, ...run } = options;
  if (names.length === 0) return;
  if ((await runner.capabilities()).bookmarks) {
    await runner.run(["destroy", `${dataset}@${names.join(",")}`], run);
    return;
  }
  for (const n of names) await runner.run(["destroy", `${dataset}@${n}`], run);
}
