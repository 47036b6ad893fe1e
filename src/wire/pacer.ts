/**
 * Paces a sender to a byte rate: a token bucket one quantum deep, drawn before each DATA frame,
 * with frames cut to that quantum (paceFrameBytes), so the stream never runs ahead of the rate by
 * more than one small frame. Pacing the sender (not the receiver reading slower) keeps the figure
 * exact whatever the buffers between the two (pipes, ssh, TCP) hold, and counts wire bytes: what
 * leaves after compression.
 *
 * It runs inside the pump's Worker and sleeps synchronously, in slices, so an abort is seen within
 * PACE_SLICE_MS.
 */

/** A frame carries at most this long a share of the rate: 20 ms, so a 100 ms window holds five. */
const QUANTUM_MS = 20;
const MIN_QUANTUM_BYTES = 16 * 1024;
/** Longest single sleep, so the abort flag is looked at often enough. */
const PACE_SLICE_MS = 50;

/** The DATA frame size for a paced stream: QUANTUM_MS worth of the rate, within [16 KiB, frameBytes]. */
export function paceFrameBytes(rateBytes: number, frameBytes: number): number {
  return Math.max(Math.min(MIN_QUANTUM_BYTES, frameBytes), Math.min(frameBytes, Math.floor((rateBytes * QUANTUM_MS) / 1000)));
}

export class Pacer {
  readonly #rate: number;
  readonly #burstMs: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => void;
  /** When (ms, on #now's clock) the next byte may leave. */
  #next: number;

  /**
   * @param rateBytes bytes per second, > 0
   * @param options.burstBytes credit a quiet sender may build up (one frame by default)
   */
  constructor(rateBytes: number, options: { burstBytes: number; now?: () => number; sleep?: (ms: number) => void }) {
    if (!(rateBytes > 0)) throw new RangeError(`Pacing needs a positive rate, got ${rateBytes}`);
    this.#rate = rateBytes;
    this.#burstMs = (options.burstBytes * 1000) / rateBytes;
    this.#now = options.now ?? (() => performance.now());
    this.#sleep = options.sleep ?? ((ms) => Bun.sleepSync(ms));
    this.#next = this.#now();
  }

  /**
   * Waits until `bytes` more may leave at the rate; returns false (early) when `aborted()` says so.
   */
  take(bytes: number, aborted: () => boolean = () => false): boolean {
    const now = this.#now();
    // A sender that was slower than the rate keeps at most one burst of credit, never more.
    if (this.#next < now - this.#burstMs) this.#next = now - this.#burstMs;
    const start = this.#next;
    this.#next += (bytes * 1000) / this.#rate;
    for (let wait = start - this.#now(); wait > 0; wait = start - this.#now()) {
      if (aborted()) return false;
      this.#sleep(Math.min(wait, PACE_SLICE_MS));
    }
    return true;
  }
}
