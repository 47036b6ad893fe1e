import { ENDPOINTS, pruneArgs } from "../../api/index.ts";
import { RpcError, defineEndpoint } from "../../rpc/index.ts";
import { destroySnapshots, holdCounts, listVersions, quote, versionOf, type VersionShortName } from "../../zfs/index.ts";
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
        const existing = new Set((await listVersions(ctx.runner, ds)).filter((v) => v.name.kind === "snapshot").map((v) => v.name.name));
        const kept: { name: string; reason: string }[] = [];
        const present = [...new Set(args.snapshots)].filter((s) => existing.has(s) || !kept.push({ name: s, reason: "not found" }));
        const counts = await holdCounts(ctx.runner, present.map((s) => versionOf(ds, "snapshot", s)));
        const doomed: VersionShortName[] = [];
        for (const s of present) {
          if ((counts.get(`${ds}@${s}`) ?? 0) > 0) kept.push({ name: s, reason: "held" });
          else doomed.push(s);
        }
        await destroySnapshots(ctx.runner, ds, { names: doomed });
        return { destroyed: doomed, kept };
      });
    },
  });
}
