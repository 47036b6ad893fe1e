import { ENDPOINTS, listReceivedArgs, type FilesystemEntry } from "../../api/index.ts";
import { RpcError, defineEndpoint } from "../../rpc/index.ts";
import { ZfsError, listTree, quote, type TreeEntry } from "../../zfs/index.ts";
import { withZfsErrors, type ServerContext } from "../context.ts";
import { isBeingReceived } from "../receive-lock.ts";

/**
 * What this client has pushed: datasets below its receive_root, named as on the client, with a
 * resume token where a push was interrupted (OpenZFS) and a flag for placeholders. A dataset
 * another process is receiving into right now is left out: its `receive` answers `busy`.
 */
export function listReceivedEndpoint(ctx: ServerContext) {
  return defineEndpoint({
    name: ENDPOINTS.listReceived,
    args: listReceivedArgs,
    body: "none",
    response: "value",
    async handle(): Promise<{ filesystems: FilesystemEntry[] }> {
      const root = ctx.acl.receiveRoot;
      if (!root) throw new RpcError("permission_denied", `Client ${quote(ctx.identity)} may not push: no receive_root is configured for it`);
      return withZfsErrors(async () => {
        let tree: TreeEntry[];
        try {
          tree = await listTree(ctx.runner, root);
        } catch (err) {
          if (err instanceof ZfsError && err.isDatasetMissing) return { filesystems: [] }; // nothing pushed yet
          throw err;
        }
        const entries = tree
          .filter((e) => e.name !== root && !isBeingReceived(ctx, e.name))
          .map((e) => ({
            name: e.name.slice(root.length + 1),
            ...(e.resumeToken ? { resume_token: e.resumeToken } : {}),
            ...(e.placeholder ? { placeholder: true } : {}),
          }));
        return { filesystems: entries };
      });
    },
  });
}
