/**
 * A `zfs send` held at its start: the BEGIN record of its first substream is looked at in the pipe
 * (tee(2), nothing is taken) before any of the stream is handed on, so the sending side can check
 * that zfs is about to send what was asked for. The record's GUIDs name the snapshot and its
 * incremental source exactly as the receiving zfs will see them, which a listing made before the
 * send can only promise; and it costs no zfs process.
 *
 * zfs writes the record first thing, so holding the stream for it delays nothing. A compound
 * stream (`-I`, `-p`) is looked at up to its first substream, unless its properties nvlist would
 * not fit in a pipe that was not enlarged.
 */
import { peekPipe } from "../sys/pipe-peek.ts";
import { closeQuietly } from "../sys/pipe.ts";
import type { WireCompression } from "./compressor.ts";
import { sendStreamOf, type ZfsSendStream } from "./send-stream.ts";
import { STREAM_HEADER_BYTES, decodeFirstSubstream, decodeStreamHeader, firstSubstreamEnd, type StreamHeader } from "./stream-header.ts";
import { startZfsSend, zfsChildError } from "./stream-process.ts";

export { canPeekPipes } from "../sys/pipe-peek.ts";

/** The most a look may need: a pipe holds 64 KiB even where it could not be enlarged. */
const MAX_LOOK_BYTES = 60 * 1024;

/** What a stream starts with. */
export interface SendHead {
  /** Its first record. */
  readonly first: StreamHeader;
  /** The first substream's BEGIN (`first` itself for a substream); null when it lies beyond MAX_LOOK_BYTES. */
  readonly substream: StreamHeader | null;
}

export interface HeldSend {
  /** null when zfs send ended before writing its first record (it failed: `outcome()` says why). */
  readonly head: SendHead | null;
  /** Hands the stream on, through a compressor when one was asked for (it starts now). Once only. */
  release(): ZfsSendStream;
  /** For a send that ended before its head: waits for it and closes the pipe; zfs's error text, or null. */
  outcome(): Promise<string | null>;
  /** Stops zfs send and closes the pipe (a head that was refused, a hang-up). */
  kill(signal?: NodeJS.Signals | number): Promise<unknown>;
}

/**
 * Starts `bin ...argv` (a `send` argv) and resolves once its head is in the pipe, or it ended.
 * @throws ZfsNotFoundError when the binary cannot be started
 * @throws Error when tee(2) is unavailable or the head is not a zfs send stream (zfs send is stopped)
 */
export async function startHeldSend(bin: string, argv: readonly string[], options: { compression?: WireCompression | null } = {}): Promise<HeldSend> {
  const proc = startZfsSend(bin, argv);
  let exited = false;
  void proc.done().then(() => (exited = true));
  const look = (bytes: number) => peekPipe(proc.readFd, bytes, { ended: () => exited });
  let head: SendHead | null = null;
  try {
    const bytes = await look(STREAM_HEADER_BYTES);
    if (bytes.length === STREAM_HEADER_BYTES) {
      const [first] = decodeStreamHeader(bytes);
      const end = firstSubstreamEnd(first);
      let substream: StreamHeader | null = first.kind === "substream" ? first : null;
      if (substream === null && end <= MAX_LOOK_BYTES) {
        const more = await look(end);
        if (more.length === end) substream = decodeFirstSubstream(more);
      }
      head = { first, substream };
    }
  } catch (err) {
    await proc.kill("SIGTERM");
    closeQuietly(proc.readFd);
    throw err;
  }
  let released = false;
  return {
    head,
    release() {
      if (released) throw new Error("The held send was released already");
      released = true;
      return sendStreamOf(proc, argv, options);
    },
    async outcome() {
      const result = await proc.done();
      closeQuietly(proc.readFd);
      return zfsChildError(argv, result)?.message ?? null;
    },
    async kill(signal = "SIGTERM") {
      const result = await proc.kill(signal);
      if (!released) closeQuietly(proc.readFd);
      return result;
    },
  };
}
