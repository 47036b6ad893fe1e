/**
 * send and estimate_send: `zfs send` of one snapshot of an allowed dataset, full or incremental.
 * Everything in the argv is checked first: the dataset against the ACL, the snapshot names against
 * the dataset's real versions (and their GUIDs, when the client states them), the flags against the
 * identity's send_flags and the installed zfs.
 */
import { ENDPOINTS, estimateResponse, sendArgs, type SendArgs, type WireSendFlag } from "../../api/index.ts";
import { RpcError, defineEndpoint, type OctetProducer } from "../../rpc/index.ts";
import {
  availableCompression,
  estimateSendSize,
  listVersions,
  quote,
  sendArgv,
  startSendStream,
  type SendFlags,
  type SendRequest,
  type WireCompression,
  type ZfsSendStream,
} from "../../zfs/index.ts";
import { requireReadable, withZfsErrors, type ServerContext } from "../context.ts";
import { requireRawIfEncrypted, requireRawUnlessOff } from "../encryption-policy.ts";
import { sendableTree } from "../sendable-tree.ts";

export function sendEndpoint(ctx: ServerContext) {
  return defineEndpoint({
    name: ENDPOINTS.send,
    args: sendArgs,
    body: "none",
    response: "octets",
    async handle(args, h): Promise<OctetProducer> {
      const request = await checkedSendRequest(ctx, args);
      h.note.dataset = args.dataset;
      h.note.to = args.to;
      if (args.from) h.note.from = args.from.name;
      const argv = await withZfsErrors(async () => sendArgv(request, ctx.caps));
      return zfsSendProducer(ctx, argv, { compression: checkedCompression(args.compression), note: h.note, rateBytes: args.bandwidth_limit });
    },
  });
}

export function estimateSendEndpoint(ctx: ServerContext) {
  return defineEndpoint({
    name: ENDPOINTS.estimateSend,
    args: sendArgs,
    body: "none",
    response: "value",
    async handle(args): Promise<ReturnType<typeof estimateResponse>> {
      const request = await checkedSendRequest(ctx, args);
      // Refused rather than answered {}: a client can tell "cannot estimate" from "no size given".
      if (!ctx.caps.sendEstimate) throw new RpcError("unsupported", "Estimating a send needs `zfs send -nP`; the server's zfs does not support it");
      const bytes = await withZfsErrors(() => estimateSendSize(ctx.runner, request));
      return bytes === null ? {} : { bytes };
    },
  });
}

/**
 * The compression a request asked for, once this server can run it.
 * @throws RpcError unsupported when it cannot (the client decides whether to fall back)
 */
export function checkedCompression(asked: WireCompression | undefined): WireCompression | null {
  if (!asked) return null;
  if (!availableCompression().includes(asked.type)) {
    throw new RpcError("unsupported", `Compression ${quote(asked.type)} is not available on the server: install its binary (Debian: apt install zstd)`);
  }
  return asked;
}

/** Turns a running `zfs send` into the producer of an octet response, registered so a hang-up kills it. */
export function zfsSendProducer(
  ctx: ServerContext,
  argv: string[],
  options: { compression?: WireCompression | null; note?: Record<string, unknown>; rateBytes?: number } = {},
): OctetProducer {
  let stream: ZfsSendStream;
  try {
    stream = ctx.children.add(startSendStream(ctx.runner.bin, argv, options));
  } catch (err) {
    throw new RpcError("server_error", (err as Error).message, { cause: err });
  }
  // The identity's own cap wins over a faster (or no) limit asked for. A limit under 1 KiB/s is no
  // use to anyone and would stall the stream past the idle timeout.
  const asked = options.rateBytes ? Math.max(1024, options.rateBytes) : undefined;
  const cap = ctx.acl.bandwidthLimit;
  const rateBytes = cap !== undefined && (asked === undefined || cap < asked) ? cap : asked;
  if (rateBytes && options.note) options.note.bandwidth_limit = rateBytes;
  return {
    source: stream.source,
    ...(rateBytes ? { rateBytes } : {}),
    abort: (reason) => stream.abort(reason),
    async finish() {
      try {
        return await stream.finish();
      } finally {
        // The request's log line: `bytes` (wire, set by rpc/serve.ts) and the stream they carried.
        if (options.compression && options.note) {
          options.note.compression = `${options.compression.type}-${options.compression.level}`;
          options.note.stream_bytes = stream.streamBytes();
        }
        ctx.children.remove(stream);
      }
    },
  };
}

/**
 * Validates a send request against the ACL and the dataset's actual snapshots.
 * @throws RpcError permission_denied / not_found / conflict / bad_request / unsupported
 */
async function checkedSendRequest(ctx: ServerContext, args: SendArgs): Promise<SendRequest> {
  requireReadable(ctx, args.dataset);
  const flags = checkFlags(ctx, args.flags ?? []);
  // Without bookmarks the lookup below could only say not_found, which would blame the client.
  if (args.from?.kind === "bookmark" && !ctx.caps.bookmarks) {
    throw new RpcError("unsupported", "An incremental send from a bookmark needs zfs bookmarks; the server's zfs does not support them");
  }
  const known = (await withZfsErrors(() => sendableTree(ctx))).get(args.dataset);
  const listed = known?.versions.some((v) => v.name.kind === "snapshot" && v.name.name === args.to) ? known : undefined;
  // Not in the session's listing (made since, or missing): looked up afresh, as zfs has it now.
  const [versions] = listed
    ? [listed.versions, requireRawUnlessOff(ctx, args.dataset, flags.raw === true, listed.encryption)]
    : await Promise.all([withZfsErrors(() => listVersions(ctx.runner, args.dataset)), requireRawIfEncrypted(ctx, args.dataset, flags.raw === true)]);
  const to = versions.find((v) => v.name.kind === "snapshot" && v.name.name === args.to);
  if (!to) throw new RpcError("not_found", `Snapshot ${quote(`${args.dataset}@${args.to}`)} does not exist`);
  if (args.to_guid !== undefined && to.guid !== args.to_guid) {
    throw new RpcError("conflict", `Snapshot ${quote(to.name.full)} has GUID ${to.guid}, not ${args.to_guid}: it was replaced`);
  }
  let from;
  if (args.from) {
    const ref = args.from;
    from = versions.find((v) => v.name.kind === ref.kind && v.name.name === ref.name);
    const sep = ref.kind === "snapshot" ? "@" : "#";
    if (!from) throw new RpcError("not_found", `Incremental source ${quote(`${args.dataset}${sep}${ref.name}`)} does not exist`);
    if (args.from_guid !== undefined && from.guid !== args.from_guid) {
      throw new RpcError("conflict", `Incremental source ${quote(from.name.full)} has GUID ${from.guid}, not ${args.from_guid}`);
    }
    if (from.createtxg >= to.createtxg) throw new RpcError("bad_request", `Incremental source ${quote(from.name.full)} is not older than ${quote(to.name.full)}`);
    if (args.intermediates && from.name.kind === "bookmark") throw new RpcError("bad_request", "Intermediate snapshots (-I) cannot start from a bookmark");
  } else if (args.intermediates) {
    throw new RpcError("bad_request", '"intermediates" needs "from"');
  }
  return { to: to.name, from: from?.name, intermediates: args.intermediates ?? false, flags };
}

function checkFlags(ctx: ServerContext, requested: readonly WireSendFlag[]): SendFlags {
  const denied = ctx.acl.checkSendFlags(requested);
  if (denied) throw new RpcError("permission_denied", `Send flag ${quote(denied)} is not allowed for client ${quote(ctx.identity)}`);
  const has = (f: WireSendFlag) => requested.includes(f);
  return { raw: has("raw"), compressed: has("compressed"), largeBlocks: has("large_blocks"), embedded: has("embedded"), properties: has("properties") };
}
