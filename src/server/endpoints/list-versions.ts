import { ENDPOINTS, listVersionsArgs, type VersionEntry } from "../../api/index.ts";
import { defineEndpoint } from "../../rpc/index.ts";
import { listVersions, type ZfsVersion } from "../../zfs/index.ts";
import { receiveTarget, requireReadable, withZfsErrors, type ServerContext } from "../context.ts";

/** Snapshots (and bookmarks) of one dataset, checked against the ACL like every other endpoint. */
export function listVersionsEndpoint(ctx: ServerContext) {
  return defineEndpoint({
    name: ENDPOINTS.listVersions,
    args: listVersionsArgs,
    body: "none",
    response: "value",
    async handle(args, h): Promise<{ versions: VersionEntry[] }> {
      const ds = args.received ? receiveTarget(ctx, args.dataset) : args.dataset;
      if (!args.received) requireReadable(ctx, ds);
      h.note.dataset = ds;
      const versions = await withZfsErrors(() => listVersions(ctx.runner, ds));
      return { versions: versions.map(toEntry) };
    },
  });
}

export function toEntry(v: ZfsVersion): VersionEntry {
  return { name: v.name.name, kind: v.name.kind, guid: v.guid, createtxg: v.createtxg, creation: v.creation };
}
