/**
 * CBOR for message headers, values, trailers and resets; the one place cbor-x is configured.
 * - useRecords: false: a default Encoder writes cbor-x's record extension, which other decoders cannot read.
 * - tagUint8Array: false: under Bun, byte strings would otherwise carry tag 64.
 * - variableMapSize: true: minimal map headers (standard CBOR, 2 bytes smaller).
 * - int64AsType: "bigint": 64-bit integers (snapshot GUIDs) decode exactly.
 * - Integers of 2^32 and more are encoded as CBOR integers, not float64 (cbor-x's default for
 *   numbers that large), so a byte count over 4 GiB is a uint64 for every peer.
 * Decoded byte strings are copies (Buffers); nothing decoded points into the frame reader's buffer.
 */
// The subpath entries, not "cbor-x": its main entry loads the native cbor-extract addon, which
// costs about 20 ms at every start (once per ssh connection) to speed up decoding large strings,
// which zferry's messages do not have.
import { Decoder } from "cbor-x/decode";
import { Encoder } from "cbor-x/encode";
import { ProtocolError } from "../wire/index.ts";

const encoder = new Encoder({ useRecords: false, variableMapSize: true, tagUint8Array: false, copyBuffers: true } as ConstructorParameters<typeof Encoder>[0]);
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true, copyBuffers: true, int64AsType: "bigint" } as ConstructorParameters<typeof Decoder>[0]);

/** Encodes a value; the result is a fresh copy (cbor-x returns views of a shared buffer). */
export function encodeCbor(value: unknown): Uint8Array {
  return new Uint8Array(encoder.encode(wideIntsToBigInt(value)));
}

/**
 * Replaces integers outside ±2^32 with bigints, which cbor-x writes as CBOR integers. Copies only
 * what changes: a listing of 100 000 snapshots whose numbers are bigints already is walked, not
 * copied. Exported for tests.
 */
export function wideIntsToBigInt(value: unknown): unknown {
  if (typeof value === "number") return Number.isInteger(value) && Math.abs(value) >= 2 ** 32 ? BigInt(value) : value;
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v = wideIntsToBigInt(value[i]);
      if (!Object.is(v, value[i])) (out ??= value.slice())[i] = v;
    }
    return out ?? value;
  }
  if (value !== null && typeof value === "object" && !ArrayBuffer.isView(value) && !(value instanceof Date) && !(value instanceof Map)) {
    const record = value as Record<string, unknown>;
    let out: Record<string, unknown> | null = null;
    for (const k of Object.keys(record)) {
      const v = wideIntsToBigInt(record[k]);
      if (!Object.is(v, record[k])) (out ??= { ...record })[k] = v;
    }
    return out ?? value;
  }
  return value;
}

/**
 * Decodes exactly one CBOR item filling all of `bytes`.
 * @throws ProtocolError for malformed CBOR or trailing bytes
 */
export function decodeCbor(bytes: Uint8Array, what: string): unknown {
  let items: unknown[];
  try {
    items = decoder.decodeMultiple(bytes) as unknown[];
  } catch (err) {
    throw new ProtocolError(`Malformed CBOR in ${what}: ${(err as Error).message}`);
  }
  if (!Array.isArray(items) || items.length !== 1) {
    throw new ProtocolError(`Malformed CBOR in ${what}: expected exactly one item, found ${Array.isArray(items) ? items.length : 0}`);
  }
  return items[0];
}
