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

/**
 * Moves `identity`'s hold onto `base` on both sides of a pull.
 * @throws RpcError from the server's `protect`; ZfsError from the local hold
 */
export async function protectPulledBase(remote: RemoteSession, runner: ZfsRunner, args: { source: DatasetName; target: DatasetName; base: VersionShortName; identity: string; others: readonly VersionShortName[] }): Promise<void> {
  await remote.rpc.callValue(ENDPOINTS.protect, { dataset: args.source, snapshot: args.base }, protectResponse);
  await protectLocal(runner, args.target, { base: args.base, identity: args.identity, others: args.others });
}

/**
 * Holds `dataset@base` with the identity's tag and releases that tag from the dataset's other
 * snapshots. zfs-fuse cannot list tags, so the release is tried where `userrefs` > 0.
 * @returns the snapshots released
 */
export async function protectLocal(runner: ZfsRunner, dataset: DatasetName, args: { base: VersionShortName; identity: string; others?: readonly VersionShortName[] }): Promise<VersionShortName[]> {
  const tag = holdTag(args.identity);
  await placeHold(runner, versionOf(dataset, "snapshot", args.base), { tag });
  const others = (args.others ?? []).filter((s) => s !== args.base).map((s) => versionOf(dataset, "snapshot", s));
  const counts = await holdCounts(runner, others);
  const released: VersionShortName[] = [];
  for (const snap of others) if ((counts.get(snap.full) ?? 0) > 0 && (await releaseHold(runner, snap, { tag }))) released.push(snap.name);
  return released;
}
