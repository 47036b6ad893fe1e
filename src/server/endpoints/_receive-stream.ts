/**
 * The data half of `receive`: the request body into a `zfs recv` child, with what must be true
 * whichever way it ends. With a `gate` (a zfs that cannot confine a stream in the receive), the
 * body's first record is checked before anything else happens: the placeholders (`prepare`) and
 * `zfs recv` only come into being for a stream it let through, so no byte of a refused stream
 * reaches zfs. When the receive fails, is refused or the connection dies, the placeholders
 * created for it are removed again: nothing is left behind.
 */
import { RpcError, type IncomingOctets, type ReceivedBody } from "../../rpc/index.ts";
import { closeQuietly } from "../../sys/pipe.ts";
import {
  STREAM_HEADER_BYTES,
  StreamRefusedError,
  quote,
  removePlaceholders,
  startZfsRecv,
  zfsChildError,
  type DatasetName,
  type VersionName,
  type ZfsChildResult,
  type ZfsRecvProcess,
} from "../../zfs/index.ts";
import type { ServerContext } from "../context.ts";

/** How long `zfs recv` may take to fail on a truncated stream before it is killed. */
const RECV_EXIT_GRACE_MS = 30_000;

export interface ReceiveStreamOptions {
  readonly argv: string[];
  readonly snapshot: VersionName;
  /**
   * Checks the stream's first STREAM_HEADER_BYTES bytes and returns the argv `zfs recv` runs
   * with (the first record may decide it); throws StreamRefusedError to refuse the stream.
   */
  readonly gate: ((head: Uint8Array) => readonly string[]) | null;
  /** Creates the target's missing parents, listing each in `created`. */
  readonly prepare: (created: DatasetName[]) => Promise<void>;
}

/**
 * Streams the request body into `zfs recv`; resolves once it has succeeded.
 * @throws RpcError permission_denied for a stream the gate refused, bad_request when the client's
 *   stream failed, server_error when the sink failed; ZfsError when `zfs recv` failed
 */
export async function receiveStream(ctx: ServerContext, body: IncomingOctets, options: ReceiveStreamOptions): Promise<void> {
  const { argv, snapshot, gate, prepare } = options;
  const what = snapshot.full;
  const created: DatasetName[] = [];
  let proc: ZfsRecvProcess | null = null;
  const start = async (run: readonly string[]): Promise<{ fd: number }> => {
    await prepare(created);
    proc = ctx.children.add(startZfsRecv(ctx.runner.bin, run));
    return { fd: proc.writeFd };
  };
  const open = async (head: Uint8Array): Promise<{ fd: number }> => {
    let run: readonly string[];
    try {
      run = gate!(head);
    } catch (err) {
      if (err instanceof StreamRefusedError) throw new RpcError("permission_denied", err.message, { cause: err });
      throw err;
    }
    return start(run);
  };
  try {
    let received: ReceivedBody;
    try {
      received = await body.pipeTo(gate === null ? await start(argv) : { headBytes: STREAM_HEADER_BYTES, open });
    } finally {
      if (proc !== null) closeQuietly((proc as ZfsRecvProcess).writeFd); // EOF: zfs recv finishes (or fails on a truncated stream)
    }
    await finish(ctx, proc, received, what);
  } catch (err) {
    if (proc !== null) await settle(ctx, proc);
    await removePlaceholders(ctx.runner, created).catch((cause) => ctx.log.warn(`receive ${quote(what)}: could not remove its placeholders: ${(cause as Error).message}`));
    throw err;
  }
}

// --- internal ---

/** `proc` is null when the client's stream failed before its first record was complete. */
async function finish(ctx: ServerContext, proc: ZfsRecvProcess | null, received: ReceivedBody, what: string): Promise<void> {
  if (proc !== null && received.sinkError !== null) {
    // Writing into `zfs recv` failed (EPIPE: it exited early, e.g. on a bad stream), so the body
    // was cancelled with a RESET and drained, and the client's trailer only echoes that cancel:
    // zfs's own exit status and stderr are the reason.
    const result = await settle(ctx, proc);
    const err = result && zfsChildError(proc.argv, result, { subject: `receive ${quote(what)}` });
    if (err) throw err;
    throw new RpcError("server_error", `receive ${quote(what)}: ${received.sinkError}`);
  }
  if (received.error !== null || proc === null) {
    // The client's `zfs send` failed or it cancelled: nothing must look received. `zfs recv` sees
    // EOF on a truncated stream and fails, cleaning up after itself (with -s it keeps only a
    // resume token, which does not look complete).
    if (proc !== null) await settle(ctx, proc);
    throw new RpcError("bad_request", `Nothing received into ${quote(what)}: the client's stream failed: ${received.error}`);
  }
  const result = await proc.done();
  ctx.children.remove(proc);
  const err = zfsChildError(proc.argv, result, { subject: `receive ${quote(what)}` });
  if (err) throw err;
  if (received.sinkError !== null) throw new RpcError("server_error", `receive ${quote(what)}: ${received.sinkError}`);
}

/**
 * Waits for a `zfs recv` that saw EOF (or whose input broke) to exit, and gives its result. Killing
 * it at once can return before the zfs-fuse daemon has removed the partial dataset, so it is killed
 * only if it hangs (and then gives null).
 */
async function settle(ctx: ServerContext, proc: ZfsRecvProcess): Promise<ZfsChildResult | null> {
  const exited = await Promise.race([proc.done(), Bun.sleep(RECV_EXIT_GRACE_MS).then(() => null)]);
  if (exited === null) await proc.kill("SIGTERM");
  ctx.children.remove(proc);
  return exited;
}
