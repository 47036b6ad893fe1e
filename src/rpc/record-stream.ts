/**
 * Records in an octet body: a value too large for one message (a listing of 300 000 snapshots)
 * travels as a sequence of records, each a 4-byte big-endian length and one CBOR item of that
 * many bytes, checked like every message (cbor-check.ts). The receiver holds at most one record
 * while it decodes it; the sender encodes each as it goes. docs/protocol.md § Record streams.
 */
import { ProtocolError } from "../wire/index.ts";
import { CborWriter } from "./cbor-writer.ts";
import { decodeCbor } from "./codec.ts";

/** Largest record, CBOR bytes; a sender batches entries well below it. */
export const MAX_RECORD_BYTES = 1 << 20;
const LENGTH_BYTES = 4;

/**
 * A record whose CBOR is an array written item by item (CborWriter), for a sender of bulk items:
 * the bytes encodeCbor would write of the array, without the array built first.
 */
export class RecordBuilder {
  readonly #items = new CborWriter();
  #count = 0;

  /** Items written since the last take(). */
  get count(): number {
    return this.#count;
  }

  /** CBOR bytes of those items. */
  get size(): number {
    return this.#items.size;
  }

  /**
   * Writes one item of the array: `write` writes exactly one CBOR item. If it throws, what it
   * wrote of the item is dropped, and the record holds the items before it.
   */
  add(write: (w: CborWriter) => void): void {
    const before = this.#items.size;
    try {
      write(this.#items);
    } catch (err) {
      this.#items.truncate(before);
      throw err;
    }
    this.#count++;
  }

  /**
   * The record of the items written so far (none: an empty array); the builder starts over.
   * @throws RangeError when it would exceed MAX_RECORD_BYTES
   */
  take(): Uint8Array {
    const header = new CborWriter(9); // an array's head is at most 9 bytes
    header.arrayHeader(this.#count);
    const head = header.written();
    const items = this.#items.written();
    const length = head.length + items.length;
    if (length > MAX_RECORD_BYTES) throw new RangeError(`a record of ${length} bytes exceeds ${MAX_RECORD_BYTES}`);
    const out = new Uint8Array(LENGTH_BYTES + length);
    new DataView(out.buffer).setUint32(0, length);
    out.set(head, LENGTH_BYTES);
    out.set(items, LENGTH_BYTES + head.length);
    this.#items.truncate();
    this.#count = 0;
    return out;
  }
}

/**
 * Cuts a body into records as its chunks arrive. A record within one chunk is decoded where it
 * lies; only a record cut by a chunk's end is copied, its parts once each and then into one
 * buffer when its last part arrives (a 256 KiB record over 64 KiB chunks is not re-copied at
 * every chunk).
 */
export class RecordDecoder {
  readonly #what: string;
  /** Copies of the bytes of the record begun and not yet complete, in order. */
  #parts: Uint8Array[] = [];
  #partBytes = 0;
  #count = 0;

  /** `what` names the body in errors, e.g. "list_tree response". */
  constructor(what: string) {
    this.#what = what;
  }

  /**
   * The records completed by `chunk` (a view, valid during the call), decoded.
   * @throws ProtocolError for a record that is too long or not valid CBOR
   */
  push(chunk: Uint8Array): unknown[] {
    const out: unknown[] = [];
    let pos = 0;
    if (this.#partBytes > 0) {
      // The record cut at the last chunk's end: its length first, then the rest of its bytes.
      if (this.#partBytes < LENGTH_BYTES) {
        const take = Math.min(LENGTH_BYTES - this.#partBytes, chunk.byteLength);
        this.#keep(chunk.subarray(0, take));
        pos = take;
        if (this.#partBytes < LENGTH_BYTES) return out;
      }
      const length = this.#length(this.#joined(LENGTH_BYTES), 0);
      const need = LENGTH_BYTES + length - this.#partBytes;
      if (chunk.byteLength - pos < need) {
        this.#keep(chunk.subarray(pos));
        return out;
      }
      this.#keep(chunk.subarray(pos, pos + need));
      pos += need;
      const record = this.#joined(this.#partBytes);
      this.#parts = [];
      this.#partBytes = 0;
      out.push(this.#decode(record.subarray(LENGTH_BYTES)));
    }
    while (chunk.byteLength - pos >= LENGTH_BYTES) {
      const length = this.#length(chunk, pos);
      if (chunk.byteLength - pos - LENGTH_BYTES < length) break;
      const start = pos + LENGTH_BYTES;
      out.push(this.#decode(chunk.subarray(start, start + length)));
      pos = start + length;
    }
    // Copy what is left: `chunk` is only valid during this call.
    if (pos < chunk.byteLength) this.#keep(chunk.subarray(pos));
    return out;
  }

  /** @throws ProtocolError when the body ended inside a record */
  end(): void {
    if (this.#partBytes > 0) throw new ProtocolError(`${this.#what}: the body ended inside record ${this.#count + 1}`);
  }

  #keep(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    this.#parts.push(bytes.slice());
    this.#partBytes += bytes.byteLength;
  }

  /** The first `n` bytes kept, in one buffer (the only part, or a copy of the parts joined). */
  #joined(n: number): Uint8Array {
    const [first] = this.#parts;
    if (first && first.byteLength >= n) return first.subarray(0, n);
    const out = new Uint8Array(n);
    let at = 0;
    for (const part of this.#parts) {
      if (at >= n) break;
      const take = Math.min(part.byteLength, n - at);
      out.set(part.subarray(0, take), at);
      at += take;
    }
    return out;
  }

  /** The record length at `pos`, checked. */
  #length(bytes: Uint8Array, pos: number): number {
    const length = new DataView(bytes.buffer, bytes.byteOffset + pos, LENGTH_BYTES).getUint32(0);
    if (length === 0 || length > MAX_RECORD_BYTES) throw new ProtocolError(`${this.#what}: record ${this.#count + 1} claims ${length} bytes (1 to ${MAX_RECORD_BYTES})`);
    return length;
  }

  #decode(cbor: Uint8Array): unknown {
    return decodeCbor(cbor, `${this.#what} record ${++this.#count}`);
  }
}
