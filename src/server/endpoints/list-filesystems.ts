import { ENDPOINTS, type FilesystemEntry } from "../../api/index.ts";
import { defineEndpoint, schema } from "../../rpc/index.ts";
import { listFilesystems } from "../../zfs/index.ts";
import { withZfsErrors, type ServerContext } from "../context.ts";

/** The datasets this identity may read, and nothing else. */
export function listFilesystemsEndpoint(ctx: ServerContext) {
  return defineEndpoint({
    name: ENDPOINTS.listFilesystems,
    args: schema.none,
    body: "none",
    response: "value",
    async handle(): Promise<{ filesystems: FilesystemEntry[] }> {
      const all = await withZfsErrors(() => listFilesystems(ctx.runner));
      return { filesystems: all.filter((ds) => ctx.acl.mayRead(ds)).map((name) => ({ name })) };
    },
  });
}
