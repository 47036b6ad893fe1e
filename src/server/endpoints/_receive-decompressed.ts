/**
 * The data half of a compressed `receive`: the request body into `zstd -d`, and from it into
 * `zfs recv`, with the same guarantees as _receive-stream.ts. The gate looks at the decompressed
 * stream's first record (zfs/recv-stream.ts), so a refused stream still never reaches zfs, and the
 * placeholders only come into being for a stream it let through. Whatever fails (the client's
 * stream, the decompressor, zfs), both children are stopped and the placeholders removed.
 */
import { RpcError, type IncomingOctets, type ReceivedBody } from "../../rpc/index.ts";
import { closeQuietly } from "../../sys/pipe.ts";
import {
  StreamRefusedError,
  ZfsError,
  decompressedRecvError,
  quote,
  removePlaceholders,
  startDecompressedRecv,
  type DatasetName,
  type DecompressedRecv,
} from "../../zfs/index.ts";
import type { ServerContext } from "../context.ts";
import type { ReceiveStreamOptions } from "./_receive-stream.ts";

/** How long the children may take to exit after the stream ended badly before they are killed. */
const RECV_EXIT_GRACE_MS = 30_000;

/**
 * Streams the compressed request body into `zfs recv`; resolves once it has succeeded.
 * @throws RpcError permission_denied (refused by the gate), bad_request (the client's stream
 *   failed), server_error (decompressor or sink failed); ZfsError when `zfs recv` failed
 */
export async function receiveDecompressed(ctx: ServerContext, body: IncomingOctets, options: ReceiveStreamOptions & { note?: Record<string, unknown> }): Promise<void> {
  const { argv, snapshot, gate, prepare } = options;
  const what = quote(snapshot.full);
  const created: DatasetName[] = [];
  const checked = gate
    ? async (head: Uint8Array) => {
        let run: readonly string[];
        try {
          run = gate(head);
        } catch (err) {
          if (err instanceof StreamRefusedError) throw new RpcError("permission_denied", err.message, { cause: err });
          throw err;
        }
        await prepare(created);
        return run;
      }
    : null;
  let chain: DecompressedRecv | null = null;
  try {
    if (!checked) await prepare(created);
    chain = ctx.children.add(startDecompressedRecv(ctx.runner.bin, argv, { gate: checked }));
    let received: ReceivedBody;
    try {
      received = await body.pipeTo({ fd: chain.writeFd });
    } finally {
      closeQuietly(chain.writeFd); // EOF: zstd -d ends, then zfs recv
    }
    const refused = await chain.started.then(() => null, (err: unknown) => err);
    if (refused) throw refused;
    if (received.error !== null) throw new RpcError("bad_request", `Nothing received into ${what}: the client's stream failed: ${received.error}`);
    const result = await settle(chain);
    ctx.children.remove(chain);
    if (options.note) options.note.stream_bytes = chain.streamBytes();
    const err = decompressedRecvError(chain, result, { subject: `receive ${what}` });
    if (err instanceof ZfsError) throw err;
    if (err) throw new RpcError("server_error", err.message, { cause: err });
    if (received.sinkError !== null) throw new RpcError("server_error", `receive ${what}: ${received.sinkError}`);
  } catch (err) {
    if (chain !== null) {
      await settle(chain);
      ctx.children.remove(chain);
    }
    await removePlaceholders(ctx.runner, created).catch((cause) => ctx.log.warn(`receive ${what}: could not remove its placeholders: ${(cause as Error).message}`));
    throw err;
  }
}

// --- internal ---

/** Waits for both children (zfs-fuse removes a partial dataset only once zfs recv exits by itself); kills them if they hang. */
async function settle(chain: DecompressedRecv) {
  const exited = await Promise.race([chain.done(), Bun.sleep(RECV_EXIT_GRACE_MS).then(() => null)]);
  return exited ?? (await chain.kill("SIGTERM"));
}
