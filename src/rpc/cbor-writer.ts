/**
 * CBOR written item by item into one growing buffer, in the preferred serialization encodeCbor
 * writes (codec.ts; the tests compare the bytes). For a record stream's bulk (a wide listing's
 * column entries): encodeCbor needs the whole value built first, as objects and arrays of numbers
 * made from the columns they came from, which its large general encoder then walks. Here a
 * typed array's items are written straight from it.
 */

/** What a writer starts with; it grows (doubling) for more. */
const INITIAL_BYTES = 64 << 10;

export class CborWriter {
  #buf: Uint8Array;
  #view: DataView;
  #length = 0;

  constructor(initialBytes = INITIAL_BYTES) {
    this.#buf = new Uint8Array(initialBytes);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Bytes written. */
  get size(): number {
    return this.#length;
  }

  /** What was written: a view of the writer's buffer, valid until the next write or truncate(). */
  written(): Uint8Array {
    return this.#buf.subarray(0, this.#length);
  }

  /** Drops what was written after the first `size` bytes (all of it for 0), keeping the buffer. */
  truncate(size = 0): void {
    if (size < 0 || size > this.#length) throw new RangeError(`cannot truncate ${this.#length} bytes to ${size}`);
    this.#length = size;
  }

  /**
   * Any value of zferry's messages: a plain object (its keys in order), an array, text, an
   * integer (number or bigint), a boolean, null, a byte string.
   * @throws TypeError for anything else (a non-integer number, undefined, a Map, …)
   */
  value(value: unknown): void {
    switch (typeof value) {
      case "string":
        return this.text(value);
      case "number":
      case "bigint":
        return this.int(value);
      case "boolean":
        return this.bool(value);
      case "object":
        break;
      default:
        throw new TypeError(`Cannot encode a value of type ${typeof value}`);
    }
    if (value === null) return this.null();
    if (value instanceof Uint8Array) return this.bytes(value);
    if (Array.isArray(value)) {
      this.arrayHeader(value.length);
      for (const item of value) this.value(item);
      return;
    }
    if (Object.getPrototypeOf(value) !== Object.prototype) throw new TypeError(`Cannot encode a ${value.constructor?.name ?? "value"}`);
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    this.mapHeader(keys.length);
    for (const key of keys) {
      this.text(key);
      this.value(record[key]);
    }
  }

  /** An integer, negative or not; a number must be an integer. */
  int(value: number | bigint): void {
    if (typeof value === "number" && !Number.isInteger(value)) throw new TypeError(`Cannot encode ${value}: zferry's messages carry integers only`);
    if (value >= 0) return this.uint(value);
    if (typeof value === "number" && Number.isSafeInteger(value)) return this.#head(MAJOR_NEGATIVE, -1 - value);
    const n = -1n - BigInt(value);
    if (n >= 1n << 64n) throw new TypeError(`Cannot encode ${value}: below -2^64`);
    if (n < NUMBER_END) this.#head(MAJOR_NEGATIVE, Number(n));
    else this.#head64(MAJOR_NEGATIVE, n);
  }

  /** A non-negative integer; a number must be a safe integer. */
  uint(value: number | bigint): void {
    if (typeof value === "bigint") {
      if (value < 0n || value >= 1n << 64n) throw new TypeError(`Cannot encode ${value} as an unsigned integer`);
      if (value < NUMBER_END) this.#head(MAJOR_UINT, Number(value));
      else this.#head64(MAJOR_UINT, value);
      return;
    }
    if (!Number.isInteger(value) || value < 0) throw new TypeError(`Cannot encode ${value} as an unsigned integer`);
    if (Number.isSafeInteger(value)) this.#head(MAJOR_UINT, value);
    else this.uint(BigInt(value));
  }

  /** A text string; lone surrogates are written as U+FFFD, as encodeCbor does. */
  text(value: string): void {
    let ascii = true;
    for (let i = 0; i < value.length && ascii; i++) ascii = value.charCodeAt(i) < 0x80;
    if (ascii) {
      this.#head(MAJOR_TEXT, value.length);
      this.#room(value.length);
      for (let i = 0; i < value.length; i++) this.#buf[this.#length++] = value.charCodeAt(i);
      return;
    }
    const bytes = UTF8.encode(value.isWellFormed() ? value : value.toWellFormed());
    this.#head(MAJOR_TEXT, bytes.length);
    this.#append(bytes);
  }

  /** A byte string. */
  bytes(value: Uint8Array): void {
    this.#head(MAJOR_BYTES, value.length);
    this.#append(value);
  }

  arrayHeader(items: number): void {
    this.#head(MAJOR_ARRAY, items);
  }

  mapHeader(pairs: number): void {
    this.#head(MAJOR_MAP, pairs);
  }

  null(): void {
    this.#room(1);
    this.#buf[this.#length++] = NULL;
  }

  bool(value: boolean): void {
    this.#room(1);
    this.#buf[this.#length++] = value ? TRUE : FALSE;
  }

  /** The shortest head for `value` (< 2^53) of major type `major`. */
  #head(major: number, value: number): void {
    this.#room(9);
    const buf = this.#buf;
    const type = major << 5;
    if (value < 24) buf[this.#length++] = type | value;
    else if (value < 0x100) {
      buf[this.#length++] = type | 24;
      buf[this.#length++] = value;
    } else if (value < 0x10000) {
      buf[this.#length++] = type | 25;
      this.#view.setUint16(this.#length, value);
      this.#length += 2;
    } else if (value < NUMBER_END_NUMBER) {
      buf[this.#length++] = type | 26;
      this.#view.setUint32(this.#length, value);
      this.#length += 4;
    } else {
      buf[this.#length++] = type | 27;
      this.#view.setUint32(this.#length, Math.floor(value / NUMBER_END_NUMBER));
      this.#view.setUint32(this.#length + 4, value % NUMBER_END_NUMBER);
      this.#length += 8;
    }
  }

  #head64(major: number, value: bigint): void {
    this.#room(9);
    this.#buf[this.#length++] = (major << 5) | 27;
    this.#view.setBigUint64(this.#length, value);
    this.#length += 8;
  }

  #append(bytes: Uint8Array): void {
    this.#room(bytes.length);
    this.#buf.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  #room(bytes: number): void {
    if (this.#length + bytes <= this.#buf.length) return;
    const grown = new Uint8Array(Math.max(this.#buf.length * 2, this.#length + bytes));
    grown.set(this.#buf.subarray(0, this.#length));
    this.#buf = grown;
    this.#view = new DataView(grown.buffer);
  }
}

// --- internal ---

const MAJOR_UINT = 0;
const MAJOR_NEGATIVE = 1;
const MAJOR_BYTES = 2;
const MAJOR_TEXT = 3;
const MAJOR_ARRAY = 4;
const MAJOR_MAP = 5;
const FALSE = 0xf4;
const TRUE = 0xf5;
const NULL = 0xf6;
const NUMBER_END = 1n << 32n;
const NUMBER_END_NUMBER = 2 ** 32;
const UTF8 = new TextEncoder();
