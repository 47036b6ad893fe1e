/**
 * CBOR for message headers, values, trailers and resets; the one place cbor-x is configured.
 * - useRecords: false: a default Encoder writes cbor-x's record extension, which other decoders cannot read.
 * - tagUint8Array: false: under Bun, byte strings would otherwise carry tag 64.
 * - variableMapSize: true: minimal map headers (standard CBOR, 2 bytes smaller).
 * - int64AsType: "bigint": 64-bit integers (snapshot GUIDs) decode exactly.
 * - Every integer gets its shortest head (RFC 8949 preferred serialization): cbor-x writes a number
 *   of 2^32 or more as a float64 and any bigint as `1b` + 8 bytes, so `preparedForCbor` turns the
 *   one into a bigint and the other, where it fits, into a number.
 * Input is checked by cbor-check.ts before cbor-x sees it (duplicate keys, invalid UTF-8, floats, …).
 * Decoded byte strings are copies (Buffers); nothing decoded points into the frame reader's buffer.
 */
// The subpath entries, not "cbor-x": its main entry loads the native cbor-extract addon, which
// costs about 20 ms at every start (once per ssh connection) to speed up decoding large strings,
// which zferry's messages do not have.
import { Decoder } from "cbor-x/decode";
import { Encoder } from "cbor-x/encode";
import { ProtocolError } from "../wire/index.ts";
import { countCborItems } from "./cbor-check.ts";

const encoder = new Encoder({ useRecords: false, variableMapSize: true, tagUint8Array: false, copyBuffers: true } as ConstructorParameters<typeof Encoder>[0]);
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true, copyBuffers: true, int64AsType: "bigint" } as ConstructorParameters<typeof Decoder>[0]);

/**
 * Encodes a value; the result is a fresh copy (cbor-x returns views of a shared buffer).
 * @throws TypeError for a number that is not an integer: zferry's messages carry no floats
 */
export function encodeCbor(value: unknown): Uint8Array {
  return new Uint8Array(encoder.encode(preparedForCbor(value)));
}

/** Integers cbor-x writes with their shortest head as a JavaScript number: [-2^32, 2^32). */
const NUMBER_MIN = -(2 ** 32);
const NUMBER_END = 2 ** 32;

/**
 * The value as cbor-x must see it to write preferred CBOR: integers outside [-2^32, 2^32) as
 * bigints, bigints inside it as numbers, text without lone surrogates (cbor-x would write them as
 * invalid UTF-8). Copies only what changes: a listing whose numbers are all fine is walked, not
 * copied. Exported for tests.
 * @throws TypeError for a non-integer number (NaN, Infinity, 1.5)
 */
export function preparedForCbor(value: unknown): unknown {
  switch (typeof value) {
    case "number":
      if (!Number.isInteger(value)) throw new TypeError(`Cannot encode ${value}: zferry's messages carry integers only`);
      return value >= NUMBER_MIN && value < NUMBER_END ? value : BigInt(value);
    case "bigint":
      return value >= NUMBER_MIN && value < NUMBER_END ? Number(value) : value;
    case "string":
      return value.isWellFormed() ? value : value.toWellFormed();
    case "object":
      break;
    default:
      return value;
  }
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v = preparedForCbor(value[i]);
      if (!Object.is(v, value[i])) (out ??= value.slice())[i] = v;
    }
    return out ?? value;
  }
  if (value !== null && !ArrayBuffer.isView(value) && !(value instanceof Date) && !(value instanceof Map)) {
    const record = value as Record<string, unknown>;
    let out: Record<string, unknown> | null = null;
    for (const k of Object.keys(record)) {
      const v = preparedForCbor(record[k]);
      if (!Object.is(v, record[k])) (out ??= { ...record })[k] = v;
    }
    return out ?? value;
  }
  return value;
}

/**
 * Decodes exactly one CBOR item filling all of `bytes`, after checking it (cbor-check.ts).
 * @throws ProtocolError for malformed or invalid CBOR, CBOR that zferry does not use, or trailing bytes
 */
export function decodeCbor(bytes: Uint8Array, what: string): unknown {
  let count: number;
  try {
    count = countCborItems(bytes);
  } catch (err) {
    throw new ProtocolError(`Malformed CBOR in ${what}: ${(err as Error).message}`);
  }
  if (count !== 1) throw new ProtocolError(`Malformed CBOR in ${what}: expected exactly one item, found ${count}`);
  try {
    return decoder.decode(bytes);
  } catch (err) {
    throw new ProtocolError(`Malformed CBOR in ${what}: ${(err as Error).message}`);
  }
}
