/**
 * send and estimate_send: `zfs send` of one snapshot of an allowed dataset, full or incremental.
 * Everything in the argv is checked first: the dataset against the ACL, the flags against the
 * identity's send_flags and the installed zfs, encryption against send_decrypted.
 *
 * What is sent is checked on the stream itself, not on a listing: `zfs send` starts, and before
 * the `ok` header goes out its first substream's BEGIN record (send-head.ts) must carry the GUIDs
 * the client planned with (`to_guid`, `from_guid`); otherwise zfs send is stopped and the answer
 * is `conflict`. A send of a snapshot that does not exist fails before it writes anything; only
 * then is the dataset listed, to answer `not_found`, `conflict` or `bad_request` as precisely as a
 * check beforehand would have. So a send costs one zfs process, and a session no listing. (Where
 * a pipe cannot be looked into, without tee(2), that listing comes before the send instead.)
 */
import { ENDPOINTS, estimateResponse, sendArgs, type SendArgs, type WireSendFlag } from "../../api/index.ts";
import { RpcError, defineEndpoint, type OctetProducer } from "../../rpc/index.ts";
import {
  availableCompression,
  canPeekPipes,
  estimateSendSize,
  listVersions,
  quote,
  sendArgv,
  startHeldSend,
  startSendStream,
  versionOf,
  type SendFlags,
  type SendHead,
  type SendRequest,
  type WireCompression,
  type ZfsSendStream,
} from "../../zfs/index.ts";
import { requireReadable, withZfsErrors, type ServerContext } from "../context.ts";
import { requireRawIfEncrypted } from "../encryption-policy.ts";

export function sendEndpoint(ctx: ServerContext) {
  return defineEndpoint({
    name: ENDPOINTS.send,
    args: sendArgs,
    body: "none",
    response: "octets",
    async handle(args, h): Promise<OctetProducer> {
      const request = sendRequestOf(ctx, args);
      h.note.dataset = args.dataset;
      h.note.to = args.to;
      if (args.from) h.note.from = args.from.name;
      await requireRawIfEncrypted(ctx, args.dataset, request.flags?.raw === true);
      const compression = checkedCompression(args.compression);
      const argv = await withZfsErrors(async () => sendArgv(request, ctx.caps));
      const stream = await checkedSendStream(ctx, args, argv, compression);
      return zfsSendProducer(ctx, stream, { compression, note: h.note, rateBytes: args.bandwidth_limit });
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
      const request = sendRequestOf(ctx, args);
      // Refused rather than answered {}: a client can tell "cannot estimate" from "no size given".
      if (!ctx.caps.sendEstimate) throw new RpcError("unsupported", "Estimating a send needs `zfs send -nP`; the server's zfs does not support it");
      await Promise.all([checkAgainstListing(ctx, args), requireRawIfEncrypted(ctx, args.dataset, request.flags?.raw === true)]);
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

/** Starts an unchecked `zfs send` (a resumed one, checked beforehand) as a stream. */
export function startedSendStream(ctx: ServerContext, argv: string[], compression: WireCompression | null): ZfsSendStream {
  try {
    return startSendStream(ctx.runner.bin, argv, { compression });
  } catch (err) {
    throw new RpcError("server_error", (err as Error).message, { cause: err });
  }
}

/** Turns a running `zfs send` into the producer of an octet response, registered so a hang-up kills it. */
export function zfsSendProducer(
  ctx: ServerContext,
  stream: ZfsSendStream,
  options: { compression?: WireCompression | null; note?: Record<string, unknown>; rateBytes?: number } = {},
): OctetProducer {
  ctx.children.add(stream);
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

// --- internal ---

/**
 * Starts `zfs send` and lets its stream out only once its head shows what the client asked for.
 * @throws RpcError conflict for a stream of other GUIDs; what checkAgainstListing throws, or
 *   server_error with zfs's message, for a send that failed before its first record
 */
async function checkedSendStream(ctx: ServerContext, args: SendArgs, argv: string[], compression: WireCompression | null): Promise<ZfsSendStream> {
  if (!canPeekPipes()) {
    // No tee(2) here (bun:ffi unavailable): the listing checks what the stream would have.
    await checkAgainstListing(ctx, args);
    return startedSendStream(ctx, argv, compression);
  }
  let held;
  try {
    held = ctx.children.add(await startHeldSend(ctx.runner.bin, argv, { compression }));
  } catch (err) {
    throw new RpcError("server_error", `send ${quote(`${args.dataset}@${args.to}`)}: ${(err as Error).message}`, { cause: err });
  }
  try {
    if (held.head === null) {
      const reason = await held.outcome();
      await checkAgainstListing(ctx, args);
      throw new RpcError("server_error", reason ?? `send ${quote(`${args.dataset}@${args.to}`)}: zfs send ended without a stream`);
    }
    checkHead(args, held.head);
    return held.release();
  } catch (err) {
    await held.kill();
    if (err instanceof RpcError) throw err;
    throw new RpcError("server_error", (err as Error).message, { cause: err });
  } finally {
    ctx.children.remove(held);
  }
}

/**
 * The GUIDs of the stream's first substream against those the client planned with. A `-I`
 * stream's first substream is the snapshot after `from`, so there only `from_guid` is checked
 * here (the client checks every snapshot it received); so is a compound stream whose first
 * substream lies beyond what send-head.ts looks at.
 * @throws RpcError conflict
 */
function checkHead(args: SendArgs, head: SendHead): void {
  const sub = head.substream;
  if (sub === null) return;
  if (args.from && args.from_guid !== undefined && sub.fromguid !== args.from_guid) {
    const sep = args.from.kind === "snapshot" ? "@" : "#";
    throw new RpcError("conflict", `Incremental source ${quote(`${args.dataset}${sep}${args.from.name}`)} has GUID ${sub.fromguid}, not ${args.from_guid}`);
  }
  if (!args.intermediates && args.to_guid !== undefined && sub.toguid !== args.to_guid) {
    throw new RpcError("conflict", `Snapshot ${quote(`${args.dataset}@${args.to}`)} has GUID ${sub.toguid}, not ${args.to_guid}: it was replaced`);
  }
}

/**
 * What a send asks for, checked without zfs: the dataset against the ACL, the flags against the
 * identity's grant, the combination of from, intermediates and bookmarks.
 * @throws RpcError permission_denied / unsupported / bad_request
 */
function sendRequestOf(ctx: ServerContext, args: SendArgs): SendRequest {
  requireReadable(ctx, args.dataset);
  const flags = checkFlags(ctx, args.flags ?? []);
  // Without bookmarks the send could only fail on a missing dataset, which would blame the client.
  if (args.from?.kind === "bookmark" && !ctx.caps.bookmarks) {
    throw new RpcError("unsupported", "An incremental send from a bookmark needs zfs bookmarks; the server's zfs does not support them");
  }
  if (args.intermediates && !args.from) throw new RpcError("bad_request", '"intermediates" needs "from"');
  if (args.intermediates && args.from?.kind === "bookmark") throw new RpcError("bad_request", "Intermediate snapshots (-I) cannot start from a bookmark");
  const to = versionOf(args.dataset, "snapshot", args.to);
  const from = args.from ? versionOf(args.dataset, args.from.kind, args.from.name) : undefined;
  return { to, from, intermediates: args.intermediates ?? false, flags };
}

/**
 * The request against a listing of the dataset's versions, which says precisely what is wrong:
 * what estimate_send checks, and why a send failed before its first record.
 * @throws RpcError not_found / conflict / bad_request
 */
async function checkAgainstListing(ctx: ServerContext, args: SendArgs): Promise<void> {
  const versions = await withZfsErrors(() => listVersions(ctx.runner, args.dataset));
  const to = versions.find((v) => v.name.kind === "snapshot" && v.name.name === args.to);
  if (!to) throw new RpcError("not_found", `Snapshot ${quote(`${args.dataset}@${args.to}`)} does not exist`);
  if (args.to_guid !== undefined && to.guid !== args.to_guid) {
    throw new RpcError("conflict", `Snapshot ${quote(to.name.full)} has GUID ${to.guid}, not ${args.to_guid}: it was replaced`);
  }
  if (!args.from) return;
  const ref = args.from;
  const from = versions.find((v) => v.name.kind === ref.kind && v.name.name === ref.name);
  const sep = ref.kind === "snapshot" ? "@" : "#";
  if (!from) throw new RpcError("not_found", `Incremental source ${quote(`${args.dataset}${sep}${ref.name}`)} does not exist`);
  if (args.from_guid !== undefined && from.guid !== args.from_guid) {
    throw new RpcError("conflict", `Incremental source ${quote(from.name.full)} has GUID ${from.guid}, not ${args.from_guid}`);
  }
  if (from.createtxg >= to.createtxg) throw new RpcError("bad_request", `Incremental source ${quote(from.name.full)} is not older than ${quote(to.name.full)}`);
}

function checkFlags(ctx: ServerContext, requested: readonly WireSendFlag[]): SendFlags {
  const denied = ctx.acl.checkSendFlags(requested);
  if (denied) throw new RpcError("permission_denied", `Send flag ${quote(denied)} is not allowed for client ${quote(ctx.identity)}`);
  const has = (f: WireSendFlag) => requested.includes(f);
  return { raw: has("raw"), compressed: has("compressed"), largeBlocks: has("large_blocks"), embedded: has("embedded"), properties: has("properties") };
}
