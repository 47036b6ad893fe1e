/**
 * Batching on pipes, for the splice loops in pump.ts.
 *
 * A pipe wakes a sleeping reader at every write into it when empty, and a sleeping writer at every
 * read from it when full. ssh and sshd move 32 KiB at a time, so a splice blocked on their side of
 * a pipe wakes some 30 000 times a second at 1 GiB/s, and on a 2-core machine each of those
 * wake-ups is CPU taken from ssh itself (batching cut the stdinserver's CPU for a 2 GiB pull over
 * ssh by a third). Pipes have no low-water mark (SO_RCVLOWAT is for sockets), so after the first
 * wake-up the pump naps while the pipe is still filling (or draining), and one splice then moves
 * a batch.
 *
 * The pump waits for half a pipe at most, so the other half is slack for the peer: it neither
 * blocks on a full pipe nor starves on an empty one while the pump naps. Each nap lasts as long as
 * the peer's rate, remembered from earlier naps, needs to move the rest of the batch, so a steady
 * stream costs about one wake-up per half pipe. A peer that moved nothing during a nap is idle or
 * slow, and the pump goes on with what there is (or blocks in poll).
 */
import { F_GETPIPE_SZ, FIONREAD, type Libc } from "../sys/libc.ts";

/** The first nap on a pipe, before the peer's rate is known. */
const PROBE_NAP_US = 100;
/** Shorter naps cost about what they save. */
const NAP_US_MIN = 20;
/** Bounds the latency one nap adds. */
const NAP_US_MAX = 1000;
/** Naps per batch at most: the rate is re-measured after each. */
const NAPS_MAX = 3;
/** Below this capacity a nap would be about as long as the syscalls it saves. */
const MIN_BATCH_CAPACITY = 256 * 1024;

export class PipeBatcher {
  readonly #lib: Libc;
  readonly #fd: number;
  readonly #capacity: number;
  readonly #count = new Int32Array(1);
  /** The peer's rate in bytes per µs, as measured over earlier naps (0: not yet). */
  #rate = 0;

  private constructor(lib: Libc, fd: number, capacity: number) {
    this.#lib = lib;
    this.#fd = fd;
    this.#capacity = capacity;
  }

  /** A batcher for `fd`, or null when it is not a pipe or too small a pipe to batch on. */
  static for(lib: Libc, fd: number): PipeBatcher | null {
    const capacity = lib.fcntl(fd, F_GETPIPE_SZ, 0);
    return capacity >= MIN_BATCH_CAPACITY ? new PipeBatcher(lib, fd, capacity) : null;
  }

  /** The most one batch should wait for: half the pipe, so the peer is never held up by a full (or empty) pipe. */
  get batchBytes(): number {
    return this.#capacity >> 1;
  }

  /** Bytes in the pipe now (FIONREAD works from either end); -1 when the kernel will not say. */
  queued(): number {
    return this.#lib.ioctl(this.#fd, FIONREAD, this.#count) === 0 ? this.#count[0]! : -1;
  }

  /**
   * Naps while the pipe fills toward `want` bytes (capped at a batch). Returns false when the
   * peer moved nothing during a nap (idle or slow).
   */
  awaitFill(want: number): boolean {
    return this.#napWhile(false, Math.min(want, this.batchBytes));
  }

  /**
   * Naps while the pipe drains toward `want` free bytes (capped at a batch). Returns false when
   * the peer moved nothing during a nap: block in poll(POLLOUT) then, rather than nap again.
   */
  awaitRoom(want: number): boolean {
    return this.#napWhile(true, Math.min(want, this.batchBytes));
  }

  /** Bytes queued, or free when `room`; -1 when the kernel will not say. */
  #measure(room: boolean): number {
    const q = this.queued();
    return q < 0 || !room ? q : this.#capacity - q;
  }

  /** Up to NAPS_MAX naps, each as long as the remembered rate needs for the rest; false once one moved nothing. */
  #napWhile(room: boolean, want: number): boolean {
    let before = this.#measure(room);
    for (let i = 0; i < NAPS_MAX && before >= 0 && before < want; i++) {
      const us = this.#rate > 0 ? Math.min(NAP_US_MAX, Math.max(NAP_US_MIN, Math.ceil((want - before) / this.#rate))) : PROBE_NAP_US;
      this.#lib.usleep(us);
      const after = this.#measure(room);
      if (after <= before) return false;
      // Per requested µs: naps overshoot a little, which overrates the peer: shorter naps, never starving it.
      const sample = (after - before) / us;
      this.#rate = this.#rate > 0 ? (this.#rate + sample) / 2 : sample;
      before = after;
    }
    return true;
  }
}
