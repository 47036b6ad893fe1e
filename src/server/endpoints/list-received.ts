import { ENDPOINTS, listReceivedArgs, type FilesystemEntry } from "../../api/index.ts";
import { RpcError, defineEndpoint } from "../../rpc/index.ts";
import { datasetExists, getResumeToken, listFilesystems, listPlaceholders, quote } from "../../zfs/index.ts";
import { withZfsErrors, type ServerContext } from "../context.ts";

/**
 * What this client has pushed: datasets below its receive_root, named as on the client, with a
 * resume token where a push was interrupted (OpenZFS) and a flag for placeholders.
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
        if (!(await datasetExists(ctx.runner, root))) return { filesystems: [] };
        const below = (await listFilesystems(ctx.runner, root)).filter((ds) => ds !== root);
        const placeholders = await listPlaceholders(ctx.runner, root);
        const entries: FilesystemEntry[] = [];
        for (const ds of below) {
          const token = await getResumeToken(ctx.runner, ds);
          entries.push({
            name: ds.slice(root.length + 1),
            ...(token ? { resume_token: token } : {}),
            ...(placeholders.has(ds) ? { placeholder: true } : {}),
          });
        }
        return { filesystems: entries };
      });
    },
  });
}
