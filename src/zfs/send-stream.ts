/**
 * A running `zfs send` as a stream: the read end of its stdout pipe, a way to stop it, and its
 * outcome as one line of error text. Structurally this is what the RPC layer streams as an octet
 * body (rpc's OctetProducer); the zfs layer does not import rpc. Used by the server's `send` and
 * the client's push alike.
 */
import { closeQuietly } from "../sys/pipe.ts";
import { startZfsSend, zfsChildError } from "./stream-process.ts";

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
}

/**
 * Starts `bin ...argv` (a `send` argv) on a fresh pipe.
 * @throws ZfsNotFoundError when the binary cannot be started
 */
export function startSendStream(bin: string, argv: readonly string[]): ZfsSendStream {
  const proc = startZfsSend(bin, argv);
  let aborted: string | null = null;
  let closed = false;
  const closeRead = () => {
    if (!closed) closeQuietly(proc.readFd);
    closed = true;
  };
  return {
    source: { fd: proc.readFd },
    abort(reason) {
      aborted ??= reason;
      void proc.kill("SIGTERM");
    },
    async finish() {
      const result = await proc.done();
      closeRead();
      if (aborted) return aborted;
      return zfsChildError(argv, result)?.message ?? null;
    },
    kill: (signal) => proc.kill(signal),
    async dispose() {
      await proc.kill("SIGTERM");
      closeRead();
    },
  };
}
