/**
 * What the server checks before it destroys a snapshot a client's rules chose, for `prune` and
 * `prune_datasets` alike: the identity has `prune = true`, the dataset is in its filesystems (or
 * below its receive_root), every name has its prefix, and the snapshot is held by nobody. The
 * incremental base of every puller carries that puller's hold (`protect`), so "held by nobody"
 * also keeps every base.
 */
import { RpcError } from "../../rpc/index.ts";
import { quote, type DatasetName, type HeldVersion, type VersionShortName } from "../../zfs/index.ts";
import { receiveTarget, requireReadable, type ServerContext } from "../context.ts";

/**
 * The snapshot prefix the identity may prune.
 * @throws RpcError permission_denied without `prune = true` (and a snapshot prefix)
 */
export function prunePrefix(ctx: ServerContext): string {
  const prefix = ctx.acl.snapshotPrefix;
  if (!ctx.acl.mayPrune || prefix === undefined) throw new RpcError("permission_denied", `Client ${quote(ctx.identity)} may not prune: its [clients] entry has no prune = true`);
  return prefix;
}

/**
 * The dataset a prune of `dataset` destroys in (receive_root/<dataset> with `received`).
 * @throws RpcError permission_denied outside the ACL, or when any name lacks `prefix` (nothing is destroyed then)
 */
export function pruneTarget(ctx: ServerContext, args: { dataset: DatasetName; snapshots: readonly VersionShortName[]; received?: boolean | undefined }, prefix: string): DatasetName {
  const ds = args.received ? receiveTarget(ctx, args.dataset) : args.dataset;
  if (!args.received) requireReadable(ctx, ds);
  const foreign = args.snapshots.find((s) => !s.startsWith(prefix));
  if (foreign !== undefined) throw new RpcError("permission_denied", `Cannot prune ${quote(`${ds}@${foreign}`)}: client ${quote(ctx.identity)} may only destroy snapshots named ${prefix}…`);
  return ds;
}

/** A snapshot asked for that stays, and why: "held" (by anyone) or "not found". */
export interface KeptSnapshot {
  name: string;
  reason: string;
}

/**
 * Which of `asked` go, from the dataset's listing with its hold counts (read in the listing's own
 * command: a hold placed after it still fails the destroy, "dataset is busy"). `kept` is in the
 * order asked.
 */
export function sortPrune(versions: readonly HeldVersion[], asked: readonly VersionShortName[]): { doomed: VersionShortName[]; kept: KeptSnapshot[] } {
  const holds = new Map(versions.filter((v) => v.name.kind === "snapshot").map((v) => [v.name.name as string, v.userrefs]));
  const kept: KeptSnapshot[] = [];
  const doomed: VersionShortName[] = [];
  for (const s of new Set(asked)) {
    const userrefs = holds.get(s);
    if (userrefs === undefined) kept.push({ name: s, reason: "not found" });
    else if (userrefs > 0) kept.push({ name: s, reason: "held" });
    else doomed.push(s);
  }
  return { doomed, kept };
}
