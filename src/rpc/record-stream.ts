/**
 * Records in an octet body: a value too large for one message (a listing of 300 000 snapshots)
 * travels as a sequence of records, each a 4-byte big-endian length and one CBOR item of that
 * many bytes, checked like every message (cbor-check.ts). The receiver holds at most one record
 * while it decodes it; the sender encodes each as it goes. docs/protocol.md § Record streams.
 */
import { ProtocolError } from "../wire/index.ts";
import { decodeCbor, encodeCbor } from "./codec.ts";

/** Largest record, CBOR bytes; a sender batches entries well below it. */
export const MAX_RECORD_BYTES = 1 << 20;
const LENGTH_BYTES = 4;

/**
 * One record: its length and its CBOR.
 * @throws RangeError when the value encodes to more than MAX_RECORD_BYTES
 */
export function encodeRecord(value: unknown): Uint8Array {
  const cbor = encodeCbor(value);
  if (cbor.byteLength > MAX_RECORD_BYTES) throw new RangeError(`a record of ${cbor.byteLength} bytes exceeds ${MAX_RECORD_BYTES}`);
  const out = new Uint8Array(LENGTH_BYTES + cbor.byteLength);
  new DataView(out.buffer).setUint32(0, cbor.byteLength);
  out.set(cbor, LENGTH_BYTES);
  return out;
}

/** Cuts a body into records as its chunks arrive. */
export class RecordDecoder {
  readonly #what: string;
  #pending = new Uint8Array(0);
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
    let bytes = chunk;
    if (this.#pending.byteLength > 0) {
      bytes = new Uint8Array(this.#pending.byteLength + chunk.byteLength);
      bytes.set(this.#pending);
      bytes.set(chunk, this.#pending.byteLength);
    }
    const out: unknown[] = [];
    let pos = 0;
    while (bytes.byteLength - pos >= LENGTH_BYTES) {
      const length = new DataView(bytes.buffer, bytes.byteOffset + pos).getUint32(0);
      if (length === 0 || length > MAX_RECORD_BYTES) throw new ProtocolError(`${this.#what}: record ${this.#count + 1} claims ${length} bytes (1 to ${MAX_RECORD_BYTES})`);
      if (bytes.byteLength - pos - LENGTH_BYTES < length) break;
      const start = pos + LENGTH_BYTES;
      out.push(decodeCbor(bytes.subarray(start, start + length), `${this.#what} record ${++this.#count}`));
      pos = start + length;
    }
    // Copy what is left: `chunk` is only valid during this call.
    this.#pending = bytes.slice(pos);
    return out;
  }

  /** @throws ProtocolError when the body ended inside a record */
  end(): void {
    if (this.#pending.byteLength > 0) throw new ProtocolError(`${this.#what}: the body ended inside record ${this.#count + 1}`);
  }
}
