/**
 * Protecting the incremental base: after a filesystem replicated, the newest snapshot both sides
 * share gets the identity's hold (`zferry_<identity>`) on the sender (through the server's
 * `protect`) and on the receiver (here), and the previous base is released. No other tool's
 * pruning, and no `zfs destroy` by hand, can then break the chain without `zfs release` first.
 */
import { ENDPOINTS, protectResponse, type VersionEntry } from "../api/index.ts";
import { holdCounts, holdTag, placeHold, releaseHold, versionOf, type DatasetName, type VersionShortName, type ZfsRunner, type ZfsVersion } from "../zfs/index.ts";
import type { RemoteSession } from "./remote.ts";

/** The newest snapshot present on both sides (same guid), by the sender's name; null if none. */
export function newestCommon(sender: readonly VersionEntry[], receiver: readonly ZfsVersion[]): VersionEntry | null {
  const received = new Set(receiver.filter((v) => v.name.kind === "snapshot").map((v) => v.guid));
  let best: VersionEntry | null = null;
  for (const v of sender) if (v.kind === "snapshot" && received.has(v.guid) && (best === null || v.createtxg > best.createtxg)) best = v;
  return best;
}

/** How many holds each snapshot of one dataset carries, by its short name. */
export type HoldCounts = ReadonlyMap<string, number>;

/**
 * Moves `identity`'s hold onto `base` on both sides of a pull.
 * @returns the receiver's hold counts once done (`protectLocal`)
 * @throws RpcError from the server's `protect`; ZfsError from the local hold
 */
export async function protectPulledBase(remote: RemoteSession, runner: ZfsRunner, args: { source: DatasetName; target: DatasetName; base: VersionShortName; identity: string; snapshots: readonly VersionShortName[] }): Promise<HoldCounts> {
  await remote.rpc.callValue(ENDPOINTS.protect, { dataset: args.source, snapshot: args.base }, protectResponse);
  return protectLocal(runner, args.target, { base: args.base, identity: args.identity, snapshots: args.snapshots });
}

/**
 * Holds `dataset@base` with the identity's tag and releases that tag from the dataset's other
 * `snapshots`. zfs-fuse cannot list tags, so the release is tried where `userrefs` > 0.
 * @returns the hold counts of `snapshots` once done (read after the hold, less the releases), so
 *   that pruning the dataset next needs no `zfs get` of its own
 */
export async function protectLocal(runner: ZfsRunner, dataset: DatasetName, args: { base: VersionShortName; identity: string; snapshots: readonly VersionShortName[] }): Promise<HoldCounts> {
  const tag = holdTag(args.identity);
  await placeHold(runner, versionOf(dataset, "snapshot", args.base), { tag });
  const snapshots = args.snapshots.map((s) => versionOf(dataset, "snapshot", s));
  const read = await holdCounts(runner, snapshots);
  const counts = new Map<string, number>();
  for (const snap of snapshots) {
    const n = read.get(snap.full) ?? 0;
    const released = snap.name !== args.base && n > 0 && (await releaseHold(runner, snap, { tag }));
    counts.set(snap.name, released ? n - 1 : n);
  }
  return counts;
}

/**
 * Which of `names` (snapshots of `dataset`) carry any hold: from the counts `protectLocal` left,
 * or, where it did not run, from one `zfs get userrefs`.
 */
export async function heldSnapshots(runner: ZfsRunner, dataset: DatasetName, names: readonly VersionShortName[], counted: HoldCounts | null): Promise<Set<string>> {
  if (counted !== null) return new Set(names.filter((s) => (counted.get(s) ?? 0) > 0));
  const versions = names.map((s) => versionOf(dataset, "snapshot", s));
  const counts = await holdCounts(runner, versions);
  return new Set(versions.filter((v) => (counts.get(v.full) ?? 0) > 0).map((v) => v.name as string));
}
