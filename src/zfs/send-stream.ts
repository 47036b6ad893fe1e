/**
 * A running `zfs send` as a stream: the read end of its stdout pipe (or of a compressor's, which
 * then sits between the two), a way to stop it, and its outcome as one line of error text.
 * Structurally this is what the RPC layer streams as an octet body (rpc's OctetProducer); the zfs
 * layer does not import rpc. Used by the server's `send` and the client's push alike.
 */
import { closeQuietly } from "../sys/pipe.ts";
import { compressorFailure, startCompressor, type CompressorProcess, type WireCompression } from "./compressor.ts";
import { startZfsSend, zfsChildError, type ZfsSendProcess } from "./stream-process.ts";

export interface ZfsSendStream {
  /** Read end of the child's stdout; closed by `finish()` or `dispose()`. */
  readonly source: { readonly fd: number };
  /** Kills the child; the first reason becomes `finish()`'s result. */
  abort(reason: string): void;
  /** Waits for the child and closes the pipe: null on success, else the error text. */
  finish(): Promise<string | null>;
  /** Sends `signal` if the child still runs and waits for it (for registries that stop everything). */
  kill(signal?: NodeJS.Signals | number): Promise<unknown>;
  /** Kills the child if it still runs and closes the pipe: for paths that never streamed. */
  dispose(): Promise<void>;
  /** Bytes zfs sent so far, before compression; null without a compressor (the wire count is the same). */
  streamBytes(): number | null;
}

/**
 * Starts `bin ...argv` (a `send` argv) on a fresh pipe, through a compressor when `compression` is given.
 * @throws ZfsNotFoundError when the binary cannot be started
 * @throws Error when the compressor cannot be started (zfs send is stopped again)
 */
export function startSendStream(bin: string, argv: readonly string[], options: { compression?: WireCompression | null } = {}): ZfsSendStream {
  return sendStreamOf(startZfsSend(bin, argv), argv, options);
}

/**
 * A running `zfs send` (`proc`, started with `argv`) as a stream, through a compressor when
 * `compression` is given (started now).
 * @throws Error when the compressor cannot be started (zfs send is stopped again)
 */
export function sendStreamOf(proc: ZfsSendProcess, argv: readonly string[], options: { compression?: WireCompression | null } = {}): ZfsSendStream {
  let compressor: CompressorProcess | null = null;
  if (options.compression) {
    try {
      compressor = startCompressor(proc.readFd, options.compression);
    } catch (err) {
      closeQuietly(proc.readFd);
      void proc.kill("SIGTERM");
      throw err;
    } finally {
      if (compressor) closeQuietly(proc.readFd); // the compressor holds it now
    }
  }
  const readFd = compressor ? compressor.fd : proc.readFd;
  let aborted: string | null = null;
  let closed = false;
  let streamed: number | null = null;
  const closeRead = () => {
    if (!closed) closeQuietly(readFd);
    closed = true;
  };
  const killAll = async (signal: NodeJS.Signals | number) => {
    await Promise.all([proc.kill(signal), compressor?.kill(signal)]);
  };
  return {
    source: { fd: readFd },
    abort(reason) {
      aborted ??= reason;
      void killAll("SIGTERM");
    },
    async finish() {
      const [result, packed] = await Promise.all([proc.done(), compressor?.done()]);
      closeRead();
      if (packed) streamed = packed.streamBytes;
      if (aborted) return aborted;
      // A compressor that dies takes zfs send down with it (EPIPE), never the other way round:
      // its failure is the reason. zfs failing ends the compressor's input, which it exits 0 on.
      const packFailed = compressor && packed ? compressorFailure("compression", packed) : null;
      if (packFailed) return packFailed;
      return zfsChildError(argv, result)?.message ?? null;
    },
    kill: (signal = "SIGTERM") => killAll(signal),
    async dispose() {
      await killAll("SIGTERM");
      closeRead();
    },
    streamBytes: () => (compressor ? (streamed ?? compressor.streamBytes()) : null),
  };
}
