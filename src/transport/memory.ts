/**
 * Two connected in-process endpoints, for tests: what one side writes the other reads. Writes are
 * delivered as they were written unless `split` cuts them into other sizes, so tests can feed the
 * frame reader arbitrary chunk boundaries. Nothing here has an fd, so the data path takes its
 * portable copy loop.
 */
import type { ByteSink, ByteSource, Duplex } from "./types.ts";

export interface MemoryPairOptions {
  /** Re-cuts each written chunk; return the pieces (must cover the chunk exactly). */
  split?: (chunk: Uint8Array) => Uint8Array[];
}

export function memoryPair(options: MemoryPairOptions = {}): [Duplex, Duplex] {
  const aToB = new ChunkQueue(options.split);
  const bToA = new ChunkQueue(options.split);
  return [makeEnd("memory A", bToA, aToB), makeEnd("memory B", aToB, bToA)];
}

/** Bytes a queue holds before `write` waits for the reader (backpressure, as a pipe has). */
const HIGH_WATER_BYTES = 1 << 20;

/** A one-way byte queue: written chunks wait until read; reads never see bytes out of order. */
export class ChunkQueue implements ByteSource, ByteSink {
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #waiter: (() => void) | null = null;
  #drained: (() => void) | null = null;
  readonly #split?: (chunk: Uint8Array) => Uint8Array[];

  constructor(split?: (chunk: Uint8Array) => Uint8Array[]) {
    this.#split = split;
  }

  async write(chunks: readonly Uint8Array[]): Promise<void> {
    if (this.#ended) throw Object.assign(new Error("write after end"), { code: "EPIPE" });
    for (const c of chunks) {
      if (c.length === 0) continue;
      const copy = c.slice(); // the writer may reuse its buffer once write() resolves
      for (const piece of this.#split ? this.#split(copy) : [copy]) if (piece.length) this.#chunks.push(piece);
      this.#queued += copy.length;
    }
    this.#wake();
    while (this.#queued > HIGH_WATER_BYTES && !this.#ended) await new Promise<void>((resolve) => (this.#drained = resolve));
  }

  async end(): Promise<void> {
    this.#ended = true;
    this.#wake();
    this.#signalDrained();
  }

  async read(buf: Uint8Array): Promise<number> {
    while (this.#chunks.length === 0) {
      if (this.#ended) return 0;
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
    const head = this.#chunks[0]!;
    const n = Math.min(head.length, buf.length);
    buf.set(head.subarray(0, n));
    if (n === head.length) this.#chunks.shift();
    else this.#chunks[0] = head.subarray(n);
    this.#queued -= n;
    if (this.#queued <= HIGH_WATER_BYTES) this.#signalDrained();
    return n;
  }

  #signalDrained(): void {
    const d = this.#drained;
    this.#drained = null;
    d?.();
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }
}

function makeEnd(label: string, incoming: ChunkQueue, outgoing: ChunkQueue): Duplex {
  return {
    source: { read: (buf) => incoming.read(buf) },
    sink: { write: (c) => outgoing.write(c), end: () => outgoing.end() },
    label,
    async close() {
      await outgoing.end();
    },
  };
}
