import { ENDPOINTS, type FilesystemEntry } from "../../api/index.ts";
import { defineEndpoint, schema } from "../../rpc/index.ts";
import { ZfsError, listFilesystems, type DatasetName } from "../../zfs/index.ts";
import { withZfsErrors, type ServerContext } from "../context.ts";

/**
 * The datasets this identity may read, and nothing else: a listing of its readable roots only
 * (every pool when it may read below all of them), so that a client allowed one subtree costs a
 * listing of that subtree, not of the host; each name still passes the ACL.
 */
export function listFilesystemsEndpoint(ctx: ServerContext) {
  return defineEndpoint({
    name: ENDPOINTS.listFilesystems,
    args: schema.none,
    body: "none",
    response: "value",
    async handle(): Promise<{ filesystems: FilesystemEntry[] }> {
      const all = await withZfsErrors(() => readableFilesystems(ctx));
      return { filesystems: all.filter((ds) => ctx.acl.mayRead(ds)).map((name) => ({ name })) };
    },
  });
}

async function readableFilesystems(ctx: ServerContext): Promise<DatasetName[]> {
  const roots = ctx.acl.readableRoots();
  if (roots === null) return listFilesystems(ctx.runner);
  const found: DatasetName[] = [];
  for (const root of roots) {
    try {
      found.push(...(await listFilesystems(ctx.runner, root)));
    } catch (error) {
      // A root that does not exist (yet) holds nothing to read.
      if (!(error instanceof ZfsError && error.isDatasetMissing)) throw error;
    }
  }
  return found;
}
