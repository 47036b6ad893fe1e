import { ENDPOINTS, pruneArgs } from "../../api/index.ts";
import { RpcError, defineEndpoint } from "../../rpc/index.ts";
import { destroySnapshots, listHeldVersions, quote, type VersionShortName } from "../../zfs/index.ts";
import { receiveTarget, requireReadable, withZfsErrors, type ServerContext } from "../context.ts";

/**
 * `prune`: destroys snapshots the client's rules chose, after re-checking each on the server: the
 * identity has `prune = true`, the dataset is in its filesystems (or below its receive_root), the
 * name has its prefix, and the snapshot is held by nobody. The incremental base of every puller
 * carries that puller's hold (`protect`), so "held by nobody" also keeps every base. What passes
 * goes in one `zfs destroy fs@a,b,c` (one per snapshot where zfs has no lists).
 */
export function pruneEndpoint(ctx: ServerContext) {
  return defineEndpoint({
    name: ENDPOINTS.prune,
    args: pruneArgs,
    body: "none",
    response: "value",
    async handle(args, h): Promise<{ destroyed: string[]; kept: { name: string; reason: string }[] }> {
      const prefix = ctx.acl.snapshotPrefix;
      if (!ctx.acl.mayPrune || prefix === undefined) throw new RpcError("permission_denied", `Client ${quote(ctx.identity)} may not prune: its [clients] entry has no prune = true`);
      const ds = args.received ? receiveTarget(ctx, args.dataset) : args.dataset;
      if (!args.received) requireReadable(ctx, ds);
      h.note.dataset = ds;
      const foreign = args.snapshots.find((s) => !s.startsWith(prefix));
      if (foreign !== undefined) throw new RpcError("permission_denied", `Cannot prune ${quote(`${ds}@${foreign}`)}: client ${quote(ctx.identity)} may only destroy snapshots named ${prefix}…`);
      return withZfsErrors(async () => {
        // Hold counts come with the listing: a hold placed after it still fails the destroy ("dataset is busy").
        const holds = new Map((await listHeldVersions(ctx.runner, ds)).filter((v) => v.name.kind === "snapshot").map((v) => [v.name.name as string, v.userrefs]));
        const kept: { name: string; reason: string }[] = [];
        const doomed: VersionShortName[] = [];
        for (const s of new Set(args.snapshots)) {
          const userrefs = holds.get(s);
          if (userrefs === undefined) kept.push({ name: s, reason: "not found" });
          else if (userrefs > 0) kept.push({ name: s, reason: "held" });
          else doomed.push(s);
        }
        await destroySnapshots(ctx.runner, ds, { names: doomed });
        return { destroyed: doomed, kept };
      });
    },
  });
}
