/**
 * `zfs receive` behind a decompressor: the caller writes the compressed stream into `writeFd`,
 * `zstd -d` writes the zfs stream into the receive's stdin pipe. With a `gate`, the decompressed
 * stream's first record is looked at in that pipe (pipe-peek.ts) before `zfs receive` starts, so a
 * refused stream never reaches zfs, exactly as without compression.
 *
 * Ownership is that of stream-process.ts: `writeFd` is the caller's to close (that ends the
 * stream); `kill()` stops both children and awaits them, so nothing is orphaned.
 */
import { peekPipe } from "../sys/pipe-peek.ts";
import { closeQuietly, makePipe } from "../sys/pipe.ts";
import { compressorFailure, startDecompressor, type CompressorProcess, type CompressorResult } from "./compressor.ts";
import { STREAM_HEADER_BYTES } from "./stream-header.ts";
import { startZfsRecv, startZfsRecvFrom, zfsChildError, type ZfsChild, type ZfsChildResult } from "./stream-process.ts";

export interface DecompressedRecv {
  /** What `zfs receive` runs with: the gate's choice once it has run. */
  readonly argv: readonly string[];
  /** Write end of the decompressor's input; owned by the caller, who closes it to end the stream. */
  readonly writeFd: number;
  /** Resolves once `zfs receive` runs; rejects with the gate's error when it refused the stream. */
  readonly started: Promise<void>;
  /** Resolves once every child has exited; never rejects. */
  done(): Promise<DecompressedRecvResult>;
  /** Stops both children and awaits them. */
  kill(signal?: NodeJS.Signals | number): Promise<DecompressedRecvResult>;
  /** Stream bytes handed to zfs so far (live), or zstd's exact total once it ended. */
  streamBytes(): number;
}

export interface DecompressedRecvResult {
  /** null when `zfs receive` never started (the gate refused, or the stream ended first). */
  readonly zfs: ZfsChildResult | null;
  readonly decompressor: CompressorResult;
}

/**
 * Starts `zstd -d | bin ...argv`.
 * @param options.gate checks the first STREAM_HEADER_BYTES of the decompressed stream (fewer when
 *   it is shorter), may prepare the target, and returns the argv `zfs receive` starts with (the
 *   first record may decide it); throwing refuses the stream
 * @throws ZfsNotFoundError / Error when a child cannot be started without a gate (nothing is left running)
 */
export function startDecompressedRecv(
  bin: string,
  argv: readonly string[],
  options: { gate?: ((head: Uint8Array) => Promise<readonly string[]>) | null } = {},
): DecompressedRecv {
  let zfs: ZfsChild | null = null;
  let running = argv;
  let decompressor: CompressorProcess;
  let started: Promise<void>;
  if (!options.gate) {
    const recv = startZfsRecv(bin, argv);
    try {
      decompressor = startDecompressor(recv.writeFd);
    } catch (err) {
      closeQuietly(recv.writeFd);
      void recv.kill("SIGTERM");
      throw err;
    }
    closeQuietly(recv.writeFd); // the decompressor holds it; its exit is the receive's EOF
    zfs = recv;
    started = Promise.resolve();
  } else {
    const pipe = makePipe();
    decompressor = startDecompressor(pipe.writeFd);
    closeQuietly(pipe.writeFd);
    let ended = false;
    void decompressor.done().then(() => (ended = true));
    const gate = options.gate;
    started = (async () => {
      try {
        const head = await peekPipe(pipe.readFd, STREAM_HEADER_BYTES, { ended: () => ended });
        // Cut before its first record (the sender or the decompressor failed): zfs receive never
        // starts, and the reason is theirs, not the gate's.
        if (head.length < STREAM_HEADER_BYTES) return;
        running = await gate(head);
        zfs = startZfsRecvFrom(bin, running, pipe.readFd);
      } catch (err) {
        // Refused: the decompressor goes, so the body's writer gets EPIPE and the stream is drained.
        await decompressor.kill("SIGTERM");
        throw err;
      } finally {
        closeQuietly(pipe.readFd);
      }
    })();
    started.catch(() => {}); // observed through `started` and done()
  }
  const dec = decompressor;
  async function done(): Promise<DecompressedRecvResult> {
    await started.catch(() => {});
    const [z, d] = await Promise.all([(zfs as ZfsChild | null)?.done() ?? Promise.resolve(null), dec.done()]);
    return { zfs: z, decompressor: d };
  }
  let total: number | null = null;
  void dec.done().then((r) => (total = r.streamBytes));
  return {
    get argv() {
      return running;
    },
    writeFd: dec.fd,
    started,
    done,
    async kill(signal = "SIGTERM") {
      await dec.kill(signal);
      await started.catch(() => {});
      await (zfs as ZfsChild | null)?.kill(signal);
      return done();
    },
    streamBytes: () => total ?? dec.streamBytes(),
  };
}

/**
 * Why a decompressed receive failed, or null when it succeeded. The decompressor's failure comes
 * first: a receive that failed on the stream it cut short would only say "incomplete stream".
 */
export function decompressedRecvError(recv: DecompressedRecv, result: DecompressedRecvResult, options: { subject: string }): Error | null {
  const { subject } = options;
  const unpack = compressorFailure("decompression", result.decompressor);
  if (unpack) return new Error(`${subject}: ${unpack}${result.zfs?.exitCode === 0 ? "" : "; nothing was received"}`);
  if (result.zfs === null) return new Error(`${subject}: the stream ended before its first record`);
  return zfsChildError(recv.argv, result.zfs, { subject });
}
