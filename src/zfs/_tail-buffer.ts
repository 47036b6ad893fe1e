/**
 * A bounded tail of a byte stream: keeps the last `limit` bytes and counts the rest, so a chatty or
 * hostile child cannot grow our memory through its stderr.
 */
export class TailBuffer {
  readonly #limit: number;
  #chunks: Uint8Array[] = [];
  #held = 0;
  #dropped = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Bytes seen but no longer held. */
  get dropped(): number {
    return this.#dropped;
  }

  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    // Copy: a stream may reuse the chunk's memory after this returns.
    const own = chunk.byteLength > this.#limit ? chunk.slice(chunk.byteLength - this.#limit) : chunk.slice();
    this.#dropped += chunk.byteLength - own.byteLength;
    this.#chunks.push(own);
    this.#held += own.byteLength;
    while (this.#held > this.#limit) {
      const first = this.#chunks[0]!;
      const excess = this.#held - this.#limit;
      if (first.byteLength <= excess) {
        this.#chunks.shift();
        this.#held -= first.byteLength;
        this.#dropped += first.byteLength;
      } else {
        this.#chunks[0] = first.subarray(excess);
        this.#held -= excess;
        this.#dropped += excess;
      }
    }
  }

  /** The held bytes as text; a cut at the front is marked so nobody mistakes it for the start. */
  text(): string {
    const body = new TextDecoder().decode(Buffer.concat(this.#chunks));
    return this.#dropped > 0 ? `[… ${this.#dropped} bytes cut]${body}` : body;
  }
}

/** Reads a stream to its end into a TailBuffer; a read error ends collection, never throws. */
export async function collectTail(stream: ReadableStream<Uint8Array> | null | undefined, limit: number): Promise<string> {
  const tail = new TailBuffer(limit);
  if (!stream) return "";
  try {
    for await (const chunk of stream) tail.push(chunk);
  } catch {
    // The child died mid-write; what arrived is still worth reporting.
  }
  return tail.text();
}
