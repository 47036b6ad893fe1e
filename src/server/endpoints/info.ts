import { ENDPOINTS, type InfoResponse } from "../../api/index.ts";
import { defineEndpoint, schema } from "../../rpc/index.ts";
import { availableCompression } from "../../zfs/index.ts";
import type { ServerContext } from "../context.ts";

/** What this server offers this identity: versions, zfs features, allowed send flags, wire compression. */
export function infoEndpoint(ctx: ServerContext) {
  return defineEndpoint({
    name: ENDPOINTS.info,
    args: schema.none,
    body: "none",
    response: "value",
    async handle(): Promise<InfoResponse> {
      const c = ctx.caps;
      return {
        software: ctx.software,
        identity: ctx.identity,
        receive_root: ctx.acl.receiveRoot,
        send_flags: [...ctx.acl.allowedSendFlags],
        compression: availableCompression(),
        time: Math.floor(Date.now() / 1000),
        tree_columns: true,
        protect_bases: true,
        prune_datasets: true,
        capabilities: {
          bookmarks: c.bookmarks,
          resumable: c.resumable,
          send_estimate: c.sendEstimate,
          raw: c.raw,
          compressed: c.compressed,
          large_blocks: c.largeBlocks,
          embedded: c.embedded,
          recv_no_mount: c.recvNoMount,
        },
      };
    },
  });
}
