import { ENDPOINTS, snapshotArgs } from "../../api/index.ts";
import { parseSnapshotTime } from "../../retention/index.ts";
import { RpcError, defineEndpoint } from "../../rpc/index.ts";
import { createSnapshots, quote } from "../../zfs/index.ts";
import { requireReadable, withZfsErrors, type ServerContext } from "../context.ts";

/**
 * `snapshot`: one name for every listed dataset, in one atomic `zfs snapshot a@n b@n …` where zfs
 * allows it. Only with the identity's `snapshot = { prefix }` grant, only names with that prefix,
 * only datasets it may read, never `-r`. Everything is checked before zfs runs.
 */
export function snapshotEndpoint(ctx: ServerContext) {
  return defineEndpoint({
    name: ENDPOINTS.snapshot,
    args: snapshotArgs,
    body: "none",
    response: "value",
    async handle(args, h): Promise<{ created: string[] }> {
      const prefix = ctx.acl.snapshotPrefix;
      if (prefix === undefined) throw new RpcError("permission_denied", `Client ${quote(ctx.identity)} may not take snapshots: its [clients] entry has no snapshot = { prefix = "…" }`);
      if (parseSnapshotTime(prefix, args.name) === undefined) {
        throw new RpcError("permission_denied", `Cannot snapshot as ${quote(args.name)}: client ${quote(ctx.identity)} may only take snapshots named ${prefix}<yyyymmddThhmmssZ>`);
      }
      const datasets = [...new Set(args.datasets)];
      for (const ds of datasets) requireReadable(ctx, ds);
      h.note.dataset = datasets.join(",");
      await withZfsErrors(() => createSnapshots(ctx.runner, datasets, { name: args.name }));
      return { created: datasets.map((ds) => `${ds}@${args.name}`) };
    },
  });
}
