import { ENDPOINTS, pruneArgs } from "../../api/index.ts";
import { defineEndpoint } from "../../rpc/index.ts";
import { destroySnapshots, listHeldVersions } from "../../zfs/index.ts";
import { withZfsErrors, type ServerContext } from "../context.ts";
import { prunePrefix, pruneTarget, sortPrune, type KeptSnapshot } from "./_prune-rules.ts";

/**
 * `prune`: destroys snapshots the client's rules chose, after re-checking each on the server
 * (_prune-rules.ts). What passes goes in one `zfs destroy fs@a,b,c` (one per snapshot where zfs
 * has no lists).
 */
export function pruneEndpoint(ctx: ServerContext) {
  return defineEndpoint({
    name: ENDPOINTS.prune,
    args: pruneArgs,
    body: "none",
    response: "value",
    async handle(args, h): Promise<{ destroyed: string[]; kept: KeptSnapshot[] }> {
      const ds = pruneTarget(ctx, args, prunePrefix(ctx));
      h.note.dataset = ds;
      return withZfsErrors(async () => {
        const { doomed, kept } = sortPrune(await listHeldVersions(ctx.runner, ds), args.snapshots);
        await destroySnapshots(ctx.runner, ds, { names: doomed });
        return { destroyed: doomed, kept };
      });
    },
  });
}
