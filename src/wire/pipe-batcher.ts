/**
 * Batching on pipes, for the splice loops in pump.ts.
 *
 * A pipe wakes a sleeping reader at every write into it when empty, and a sleeping writer at every
 * read from it when full. ssh and sshd move 32 KiB at a time, so a splice blocked on their side of
 * a pipe wakes some 30 000 times a second at 1 GiB/s, and on a 2-core machine each of those
 * wake-ups is CPU taken from ssh itself (measured: a third of the data path's CPU). Pipes have no
 * low-water mark (SO_RCVLOWAT is for sockets), so after the first wake-up the pump naps while the
 * pipe is still filling (or draining), and one splice then moves a batch.
 *
 * The pump waits for half a pipe at most, so the other half is slack for the peer: it neither
 * blocks on a full pipe nor starves on an empty one while the pump naps. A peer that moved nothing
 * during the first nap is idle or slow, and the pump goes on with what there is.
 */
import { F_GETPIPE_SZ, FIONREAD, type Libc } from "../sys/libc.ts";

/** The first nap, which measures how fast the peer moves. */
const PROBE_NAP_US = 100;
/** The longest second nap: bounds the latency a batch adds. */
const NAP_US_MAX = 1000;
/** Below this capacity a nap would be about as long as the syscalls it saves. */
const MIN_BATCH_CAPACITY = 256 * 1024;

export class PipeBatcher {
  readonly #lib: Libc;
  readonly #fd: number;
  readonly #capacity: number;
  readonly #count = new Int32Array(1);

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

  /** Call once the pipe is readable: naps while it fills toward `want` bytes (capped at a batch). */
  awaitFill(want: number): void {
    this.#napWhile(false, Math.min(want, this.batchBytes));
  }

  /** Call once the pipe is writable: naps while it drains toward `want` free bytes (capped at a batch). */
  awaitRoom(want: number): void {
    this.#napWhile(true, Math.min(want, this.batchBytes));
  }

  /** Bytes queued, or free when `room`; -1 when the kernel will not say. */
  #measure(room: boolean): number {
    const q = this.queued();
    return q < 0 || !room ? q : this.#capacity - q;
  }

  /**
   * One probe nap to measure the peer's rate, then one nap for as long as that rate needs to bring
   * the pipe to `want`. Half the pipe stays as slack, so the peer is not held up even if it
   * speeds up meanwhile.
   */
  #napWhile(room: boolean, want: number): void {
    const first = this.#measure(room);
    if (first < 0 || first >= want) return;
    this.#lib.usleep(PROBE_NAP_US);
    const second = this.#measure(room);
    if (second <= first || second >= want) return; // an idle or slow peer: batching would only add latency
    const perUs = (second - first) / PROBE_NAP_US;
    this.#lib.usleep(Math.min(NAP_US_MAX, Math.ceil((want - second) / perUs)));
  }
}
