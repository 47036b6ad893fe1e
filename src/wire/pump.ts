/**
 * The data path: synchronous loops that move an octet stream between a file descriptor and the
 * connection without handing the bytes to JavaScript (splice) or through one reused buffer (copy).
 * They block their thread, so `data-path.ts` runs them in a Worker; the main thread keeps reading
 * control frames, timers and child exits meanwhile.
 *
 * Framing is deterministic: every DATA frame carries exactly `frameBytes` except the last, in both
 * modes. The splice sender gathers a frame's worth in a private pipe before writing its header, so
 * the copy and splice paths put identical bytes on the wire (the one exception: a private pipe
 * whose page buffers fill up before a whole frame is in sends a shorter frame; see RULE below).
 *
 * On 1 MiB pipes the splice loops wait in batches (pipe-batcher.ts) rather than wake for every
 * 32 KiB that ssh reads or writes.
 */
import { readSync, writeSync } from "node:fs";
import {
  EAGAIN,
  EINTR,
  F_GETPIPE_SZ,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  SPLICE_F_MOVE,
  SPLICE_F_NONBLOCK,
  errno,
  libc,
  type Libc,
} from "../sys/libc.ts";
import { closeQuietly, makePipe, type Pipe } from "../sys/pipe.ts";
import { ConnectionError, ProtocolError } from "./errors.ts";
import { FrameType, decodeFrameHeader, encodeFrameHeader, frameTypeName } from "./frame.ts";
import { FRAME_HEADER_BYTES, MAX_FRAME_PAYLOAD } from "./limits.ts";
import { PipeBatcher } from "./pipe-batcher.ts";
import { Pacer } from "./pacer.ts";

export type PumpMode = "splice" | "copy";

/** Shared between the main thread and the pump; see CONTROL_* for the slots. */
export interface PumpControl {
  /** Int32 slots: CONTROL_ABORT, CONTROL_DISCARD. */
  readonly flags: Int32Array;
  /** Float64 slot 0: payload bytes moved so far. */
  readonly progress: Float64Array;
}
/** Set by the main thread: the sender stops at the next frame boundary. */
export const CONTROL_ABORT = 0;
/** Set by the main thread: the receiver drops payloads from now on (it has sent a RESET). */
export const CONTROL_DISCARD = 1;

export function newPumpControl(): PumpControl {
  return { flags: new Int32Array(new SharedArrayBuffer(8)), progress: new Float64Array(new SharedArrayBuffer(8)) };
}

export interface SendPumpOptions {
  srcFd: number;
  outFd: number;
  mode: PumpMode;
  frameBytes: number;
  heartbeatMs: number;
  control: PumpControl;
  /** Wire bytes per second to pace to (pacer.ts); frameBytes should be paceFrameBytes of it. */
  rateBytes?: number;
}

export interface SendPumpResult {
  bytes: number;
  aborted: boolean;
  /** Mode actually used (splice falls back to copy where the kernel refuses it). */
  mode: PumpMode;
}

/**
 * Reads `srcFd` to EOF and writes it to `outFd` as DATA frames (no trailer: the caller writes it).
 * Sends a HEARTBEAT when the source is quiet for `heartbeatMs`.
 * @throws ConnectionError when `outFd` fails (the peer is gone)
 */
export function sendPump(options: SendPumpOptions): SendPumpResult {
  const lib = options.mode === "splice" ? libc() : null;
  if (lib) {
    const result = spliceSend(lib, options);
    if (result) return result;
  }
  return copySend(libc(), options);
}

export interface ReceivePumpOptions {
  inFd: number;
  /** Bytes the frame reader had already read from `inFd`; consumed first. */
  leftover: Uint8Array;
  /** Where payloads go; -1 discards them. */
  dstFd: number;
  mode: PumpMode;
  idleTimeoutMs: number;
  control: PumpControl;
  /** Called once when writing to `dstFd` fails; the pump goes on discarding until the trailer. */
  onSinkError: (message: string) => void;
}

export interface ReceivePumpResult {
  bytes: number;
  /** The frame that ended the stream. */
  end: { type: typeof FrameType.TRAILER | typeof FrameType.RESET; payload: Uint8Array };
  /** Bytes read past the end frame (normally none); they belong to the frame reader again. */
  leftover: Uint8Array;
  sinkError: string | null;
}

/**
 * Reads DATA frames from `inFd` into `dstFd` until a TRAILER or RESET, skipping HEARTBEATs.
 * @throws ProtocolError for any other frame, a malformed header, or input that ends before the trailer
 * @throws ConnectionError when the input stays silent past `idleTimeoutMs`
 */
export function receivePump(options: ReceivePumpOptions): ReceivePumpResult {
  const lib = libc();
  const input = new ExactInput(lib, options.inFd, options.leftover, options.idleTimeoutMs);
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  const scratch = Buffer.allocUnsafe(MAX_FRAME_PAYLOAD);
  let spliceOk = options.mode === "splice" && lib !== null;
  const inBatch = spliceOk ? PipeBatcher.for(lib!, options.inFd) : null;
  const dstBatch = spliceOk && options.dstFd >= 0 ? PipeBatcher.for(lib!, options.dstFd) : null;
  // Non-blocking on the sink only where a full sink can be waited out in batches.
  const spliceFlags = SPLICE_F_MOVE | (dstBatch ? SPLICE_F_NONBLOCK : 0);
  let sinkError: string | null = null;
  let bytes = 0;
  const { flags, progress } = options.control;
  const discard = () => sinkError !== null || options.dstFd < 0 || Atomics.load(flags, CONTROL_DISCARD) === 1;

  for (;;) {
    const got = input.readUpTo(header, FRAME_HEADER_BYTES);
    if (got === 0) throw new ProtocolError(`The connection ended inside an octet stream, before its trailer (after ${bytes} payload bytes)`);
    if (got < FRAME_HEADER_BYTES) throw new ProtocolError(`The connection ended inside a frame header (${got} of ${FRAME_HEADER_BYTES} bytes)`);
    const frame = decodeFrameHeader(header);
    if (frame.type === FrameType.HEARTBEAT) continue;
    if (frame.type === FrameType.TRAILER || frame.type === FrameType.RESET) {
      const payload = new Uint8Array(frame.length);
      const n = input.readUpTo(payload, frame.length);
      if (n < frame.length) throw cutFrame(frame.type, n, frame.length);
      return { bytes, end: { type: frame.type, payload }, leftover: input.rest(), sinkError };
    }
    if (frame.type !== FrameType.DATA) {
      throw new ProtocolError(`Unexpected ${frameTypeName(frame.type)} frame inside an octet stream`);
    }
    let left = frame.length;
    // 1. bytes already in hand
    const inHand = input.takeBuffered(left);
    if (inHand.length) {
      if (!discard()) sinkError = writeAllOrError(options.dstFd, inHand, sinkError, options.onSinkError);
      left -= inHand.length;
    }
    // 2. the rest straight from the fd
    while (left > 0) {
      if (spliceOk && !discard()) {
        input.waitReadable();
        inBatch?.awaitFill(left);
        const k = Number(lib!.splice(options.inFd, null, options.dstFd, null, left, spliceFlags));
        if (k > 0) {
          left -= k;
          continue;
        }
        if (k === 0) throw cutFrame(FrameType.DATA, frame.length - left, frame.length);
        const e = errno(lib!);
        if (e === EINTR) continue;
        if (e === EAGAIN) {
          // The sink is full (the input was readable): nap while it drains, or block until it does.
          if (!dstBatch?.awaitRoom(left)) waitWritable(lib!, options.dstFd);
          continue;
        }
        if (e === 22 /* EINVAL: fds splice cannot join */) {
          spliceOk = false;
          continue;
        }
        sinkError = reportSinkError(`writing the stream failed: ${errnoText(e)}`, sinkError, options.onSinkError);
        continue;
      }
      const k = input.readSome(scratch, Math.min(left, scratch.length));
      if (k === 0) throw cutFrame(FrameType.DATA, frame.length - left, frame.length);
      if (!discard()) sinkError = writeAllOrError(options.dstFd, scratch.subarray(0, k), sinkError, options.onSinkError);
      left -= k;
    }
    bytes += frame.length;
    progress[0] = bytes;
  }
}

// --- internal ---

function spliceSend(lib: Libc, o: SendPumpOptions): SendPumpResult | null {
  let mid: Pipe;
  try {
    mid = makePipe();
  } catch {
    return null;
  }
  // The private pipe must hold a whole frame, or gathering one would block forever.
  if (lib.fcntl(mid.writeFd, F_GETPIPE_SZ, 0) < o.frameBytes) {
    closeQuietly(mid.readFd);
    closeQuietly(mid.writeFd);
    return null;
  }
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  const { flags, progress } = o.control;
  const srcBatch = PipeBatcher.for(lib, o.srcFd);
  const outBatch = PipeBatcher.for(lib, o.outFd);
  // Non-blocking on the connection only where a full one can be waited out in batches.
  const outFlags = SPLICE_F_MOVE | (outBatch ? SPLICE_F_NONBLOCK : 0);
  const pacer = newPacer(o);
  const aborted = () => Atomics.load(flags, CONTROL_ABORT) === 1;
  let bytes = 0;
  try {
    for (;;) {
      if (Atomics.load(flags, CONTROL_ABORT) === 1) return { bytes, aborted: true, mode: "splice" };
      // Gather one frame's worth in the private pipe, so the header can state the exact length.
      // RULE: this splice never blocks on the private pipe. A pipe holds a fixed number of page
      // buffers, not bytes; partly filled pages can fill it before a frame's worth of bytes is in,
      // and a blocked splice there could never be woken (only the source's end could). So it is
      // non-blocking, and a full private pipe sends what it holds as a shorter frame.
      let gathered = 0;
      let eof = false;
      while (gathered < o.frameBytes) {
        if (!waitSource(lib, o)) {
          if (Atomics.load(flags, CONTROL_ABORT) === 1) break;
          continue;
        }
        srcBatch?.awaitFill(o.frameBytes - gathered);
        const k = Number(lib.splice(o.srcFd, null, mid.writeFd, null, o.frameBytes - gathered, SPLICE_F_MOVE | SPLICE_F_NONBLOCK));
        if (k > 0) gathered += k;
        else if (k === 0) {
          eof = true;
          break;
        } else {
          const e = errno(lib);
          if (e === EINTR) continue;
          if (e === EAGAIN) {
            if (gathered > 0) break; // the private pipe is full: send what it holds
            continue; // the source was readable a moment ago but its data went elsewhere? poll again
          }
          if (bytes === 0 && gathered === 0) return null; // the source cannot be spliced: copy instead
          throw new Error(`Reading the source failed: ${errnoText(e)}`);
        }
      }
      if (gathered > 0) {
        if (pacer && !pacer.take(gathered, aborted)) return { bytes, aborted: true, mode: "splice" };
        encodeFrameHeader(header, 0, FrameType.DATA, false, gathered);
        writeAllOrThrow(o.outFd, header);
        let moved = 0;
        while (moved < gathered) {
          const k = Number(lib.splice(mid.readFd, null, o.outFd, null, gathered - moved, outFlags));
          if (k > 0) moved += k;
          else {
            const e = errno(lib);
            if (e === EINTR) continue;
            if (e === EAGAIN) {
              // The connection is full (the private pipe holds the frame): nap while it drains, or block until it does.
              if (!outBatch?.awaitRoom(gathered - moved)) waitWritable(lib, o.outFd);
              continue;
            }
            if (e === 22 /* EINVAL: out cannot take splice */) {
              moved += copyFd(mid.readFd, o.outFd, gathered - moved);
              continue;
            }
            throw new ConnectionError(`Writing to the connection failed: ${errnoText(e)}`);
          }
        }
        bytes += gathered;
        progress[0] = bytes;
      }
      if (eof) return { bytes, aborted: false, mode: "splice" };
    }
  } finally {
    closeQuietly(mid.readFd);
    closeQuietly(mid.writeFd);
  }
}

function newPacer(o: SendPumpOptions): Pacer | null {
  return o.rateBytes ? new Pacer(o.rateBytes, { burstBytes: o.frameBytes }) : null;
}

function copySend(lib: Libc | null, o: SendPumpOptions): SendPumpResult {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + o.frameBytes);
  const { flags, progress } = o.control;
  const pacer = newPacer(o);
  let bytes = 0;
  for (;;) {
    if (Atomics.load(flags, CONTROL_ABORT) === 1) return { bytes, aborted: true, mode: "copy" };
    let n = 0;
    let eof = false;
    while (n < o.frameBytes) {
      if (lib && !waitSource(lib, o)) {
        if (Atomics.load(flags, CONTROL_ABORT) === 1) break;
        continue;
      }
      const k = readSync(o.srcFd, buf, FRAME_HEADER_BYTES + n, o.frameBytes - n, null);
      if (k === 0) {
        eof = true;
        break;
      }
      n += k;
    }
    if (n > 0) {
      if (pacer && !pacer.take(n, () => Atomics.load(flags, CONTROL_ABORT) === 1)) return { bytes, aborted: true, mode: "copy" };
      encodeFrameHeader(buf, 0, FrameType.DATA, false, n);
      writeAllOrThrow(o.outFd, buf.subarray(0, FRAME_HEADER_BYTES + n));
      bytes += n;
      progress[0] = bytes;
    }
    if (eof) return { bytes, aborted: false, mode: "copy" };
  }
}

/**
 * Waits until the source is readable. On a quiet source it sends a HEARTBEAT (always between two
 * frames: no header has been written for the bytes gathered so far) and returns false.
 * @throws ConnectionError when the connection's write side is gone
 */
function waitSource(lib: Libc, o: SendPumpOptions): boolean {
  // struct pollfd is { int fd; short events; short revents; }: fd, then events|revents<<16
  const fds = POLL_TWO;
  for (;;) {
    fds[0] = o.srcFd;
    fds[1] = POLLIN;
    fds[2] = o.outFd;
    fds[3] = 0;
    const r = lib.poll(fds, 2, o.heartbeatMs);
    if (r < 0) {
      if (errno(lib) === EINTR) continue;
      throw new Error(`poll failed: ${errnoText(errno(lib))}`);
    }
    const outRevents = fds[3]! >>> 16;
    if (outRevents & (POLLERR | POLLHUP | POLLNVAL)) throw new ConnectionError("The peer closed the connection during the stream");
    if (r === 0) {
      writeAllOrThrow(o.outFd, HEARTBEAT_FRAME);
      return false;
    }
    return true; // readable, or HUP/ERR: the read reports which
  }
}

const HEARTBEAT_FRAME = (() => {
  const b = new Uint8Array(FRAME_HEADER_BYTES);
  encodeFrameHeader(b, 0, FrameType.HEARTBEAT, true, 0);
  return b;
})();

/**
 * pollfd scratch for the loops above, which run one at a time on their thread; reused because the
 * loops poll thousands of times a second and garbage there grows the worker's heap.
 */
const POLL_ONE = new Int32Array(2);
const POLL_TWO = new Int32Array(4);
const NOTHING = new Uint8Array(0);

/** Reads exact byte counts from leftover bytes first, then from the fd, with an idle timeout. */
class ExactInput {
  #lib: Libc | null;
  #fd: number;
  #pending: Uint8Array;
  #off = 0;
  #idleMs: number;

  constructor(lib: Libc | null, fd: number, leftover: Uint8Array, idleMs: number) {
    this.#lib = lib;
    this.#fd = fd;
    this.#pending = leftover;
    this.#idleMs = idleMs;
  }

  /** Fills `dst[0..n)` unless the input ends first; returns how many bytes it got. */
  readUpTo(dst: Uint8Array, n: number): number {
    let got = 0;
    while (got < n) {
      const fromPending = this.takeBuffered(n - got);
      if (fromPending.length) {
        dst.set(fromPending, got);
        got += fromPending.length;
        continue;
      }
      this.waitReadable();
      const k = readSync(this.#fd, dst, got, n - got, null);
      if (k === 0) return got;
      got += k;
    }
    return got;
  }

  /** Reads at least one byte into `dst[0..max)`, or returns 0 at the end of the input. */
  readSome(dst: Uint8Array, max: number): number {
    const fromPending = this.takeBuffered(max);
    if (fromPending.length) {
      dst.set(fromPending);
      return fromPending.length;
    }
    this.waitReadable();
    return readSync(this.#fd, dst, 0, max, null);
  }

  /** Up to `max` leftover bytes, as a view. */
  takeBuffered(max: number): Uint8Array {
    const n = Math.min(max, this.#pending.length - this.#off);
    if (n === 0) return NOTHING;
    const view = this.#pending.subarray(this.#off, this.#off + n);
    this.#off += n;
    return view;
  }

  rest(): Uint8Array {
    return this.#pending.slice(this.#off);
  }

  /** Blocks until the fd is readable or at EOF. @throws ConnectionError after the idle timeout */
  waitReadable(): void {
    const lib = this.#lib;
    if (!lib) return;
    const fds = POLL_ONE;
    for (;;) {
      fds[0] = this.#fd;
      fds[1] = POLLIN;
      const r = lib.poll(fds, 1, this.#idleMs > 0 ? this.#idleMs : -1);
      if (r > 0) return;
      if (r === 0) throw new ConnectionError(`The peer sent nothing for ${(this.#idleMs / 1000).toFixed(1)} s (idle timeout)`);
      if (errno(lib) !== EINTR) return;
    }
  }
}

/** End of input inside a frame: a protocol error (the peer gets a RESET), worded as FrameReader words it. */
function cutFrame(type: number, got: number, length: number): ProtocolError {
  return new ProtocolError(`The connection ended inside a ${frameTypeName(type)} frame (${got} of ${length} payload bytes)`);
}

/** Blocks until `fd` has room or an error to report (the next write reports which). */
function waitWritable(lib: Libc, fd: number): void {
  const fds = POLL_ONE;
  do {
    fds[0] = fd;
    fds[1] = POLLOUT;
  } while (lib.poll(fds, 1, -1) < 0 && errno(lib) === EINTR);
}

function writeAllOrThrow(fd: number, bytes: Uint8Array): void {
  try {
    writeAll(fd, bytes);
  } catch (err) {
    throw new ConnectionError(`Writing to the connection failed: ${(err as Error).message}`, { cause: err });
  }
}

/** Writes every byte; waits out EAGAIN in case something made `fd` non-blocking behind our back. */
function writeAll(fd: number, bytes: Uint8Array): void {
  for (let off = 0; off < bytes.length; ) {
    try {
      off += writeSync(fd, bytes, off, bytes.length - off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      const lib = libc();
      if (lib) lib.poll(new Int32Array([fd, POLLOUT]), 1, 1000);
    }
  }
}

function writeAllOrError(fd: number, bytes: Uint8Array, current: string | null, onError: (m: string) => void): string | null {
  try {
    writeAll(fd, bytes);
    return current;
  } catch (err) {
    return reportSinkError(`writing the stream failed: ${(err as Error).message}`, current, onError);
  }
}

function reportSinkError(message: string, current: string | null, onError: (m: string) => void): string {
  if (current === null) onError(message);
  return current ?? message;
}

function copyFd(from: number, to: number, n: number): number {
  const buf = Buffer.allocUnsafe(Math.min(n, 1 << 20));
  let done = 0;
  while (done < n) {
    const k = readSync(from, buf, 0, Math.min(buf.length, n - done), null);
    if (k === 0) break;
    writeAllOrThrow(to, buf.subarray(0, k));
    done += k;
  }
  return done;
}

function errnoText(e: number): string {
  const names: Record<number, string> = { 9: "EBADF", 22: "EINVAL", 32: "EPIPE", 104: "ECONNRESET", 5: "EIO" };
  return names[e] ?? `errno ${e}`;
}
