/**
 * A validating pass over raw CBOR, run before cbor-x decodes it. cbor-x is lenient where RFC 8949
 * calls an item invalid, and its JavaScript values hide what zferry's rules are about:
 * - a map with a repeated key decodes to an object where the last one wins (§5.6: invalid);
 * - invalid UTF-8 in a text string becomes U+FFFD (§5.3.1: invalid);
 * - a float that happens to be whole (1000.0) becomes the same number as the integer 1000, and a
 *   bignum tag (tag 2) becomes the same bigint as a CBOR integer;
 * - an integer key and its decimal text ("1") become the same property.
 * So this pass rejects those, and everything zferry's messages never contain: floats, tags, simple
 * values other than false/true/null/undefined, map keys other than definite-length text, and
 * nesting deeper than MAX_CBOR_NESTING (cbor-x would overflow the stack). docs/protocol.md
 * § CBOR encoding states the same rules.
 *
 * It walks the bytes once and allocates nothing per item (a map of many keys uses one Set).
 * With `preferred`, it also requires RFC 8949 §4.2.1 preferred serialization (shortest heads,
 * definite lengths): what zferry's encoder promises, checked by its tests.
 */
import { MAX_CBOR_NESTING } from "../wire/index.ts";

/** Invalid or unwanted CBOR; the message says what and at which byte offset. */
export class CborCheckError extends SyntaxError {
  override name = "CborCheckError";
}

export interface CborCheckOptions {
  /** Also require shortest heads and definite lengths (for checking an encoder). */
  preferred?: boolean;
}

/**
 * Checks the CBOR items that fill `bytes` and counts them (a message must hold exactly one).
 * @throws CborCheckError for the first invalid or unwanted item
 */
export function countCborItems(bytes: Uint8Array, options: CborCheckOptions = {}): number {
  const s = new Scan(bytes, options.preferred ?? false);
  let count = 0;
  while (s.pos < bytes.length) {
    s.item(0);
    count++;
  }
  return count;
}

// --- internal ---

const BREAK = 0xff;
/** Above this many keys, a map's duplicate check uses a Set instead of comparing pairs. */
const PAIRWISE_KEYS = 16;

class Scan {
  readonly bytes: Uint8Array;
  readonly preferred: boolean;
  pos = 0;
  /** Start and end offsets of the keys of the maps being walked; each map uses its own top part. */
  readonly #keys: number[] = [];

  constructor(bytes: Uint8Array, preferred: boolean) {
    this.bytes = bytes;
    this.preferred = preferred;
  }

  item(depth: number): void {
    if (depth > MAX_CBOR_NESTING) this.fail(`items nested deeper than ${MAX_CBOR_NESTING} levels`);
    const at = this.pos;
    const ib = this.byte();
    const major = ib >> 5;
    const ai = ib & 0x1f;
    switch (major) {
      case 0:
      case 1:
        if (ai === 31) this.fail("an integer with an indefinite length", at);
        this.argument(ai, at);
        return;
      case 2:
      case 3:
        if (ai === 31) return this.indefiniteString(major, at);
        return this.string(major, this.argument(ai, at));
      case 4: {
        if (ai === 31) {
          this.indefinite(at);
          while (!this.atBreak()) this.item(depth + 1);
          this.pos++;
          return;
        }
        const n = this.count(ai, at, 1);
        for (let i = 0; i < n; i++) this.item(depth + 1);
        return;
      }
      case 5: {
        const n = ai === 31 ? (this.indefinite(at), -1) : this.count(ai, at, 2);
        const base = this.#keys.length;
        let keys: Set<string> | null = null;
        for (let i = 0; n < 0 ? !this.atBreak() : i < n; i++) {
          const [start, end] = this.key();
          if (i >= PAIRWISE_KEYS) keys = this.checkKeyInSet(keys ?? this.keySet(base), start, end);
          else this.checkKeyPairwise(base, start, end);
          this.item(depth + 1);
        }
        if (n < 0) this.pos++;
        this.#keys.length = base;
        return;
      }
      case 6:
        return this.fail("a tag (zferry's messages use none)", at);
      default:
        if (ai >= 20 && ai <= 23) return; // false, true, null, undefined
        if (ai >= 25 && ai <= 27) this.fail("a floating-point number (zferry's numbers are integers, major types 0 and 1)", at);
        if (ai === 31) this.fail("a break code outside an indefinite-length item", at);
        this.fail("a simple value other than false, true, null and undefined", at);
    }
  }

  /** A map key: a definite-length text string. Returns the offsets of its content. */
  key(): [number, number] {
    const at = this.pos;
    const ib = this.byte();
    if (ib >> 5 !== 3 || (ib & 0x1f) === 31) this.fail("a map key that is not a definite-length text string", at);
    const n = this.argument(ib & 0x1f, at);
    const start = this.pos;
    this.string(3, n);
    return [start, this.pos];
  }

  checkKeyPairwise(base: number, start: number, end: number): void {
    const keys = this.#keys;
    for (let k = base; k < keys.length; k += 2) {
      if (sameBytes(this.bytes, keys[k]!, keys[k + 1]!, start, end)) this.duplicate(start, end);
    }
    keys.push(start, end);
  }

  keySet(base: number): Set<string> {
    const set = new Set<string>();
    for (let k = base; k < this.#keys.length; k += 2) set.add(this.latin1(this.#keys[k]!, this.#keys[k + 1]!));
    return set;
  }

  checkKeyInSet(set: Set<string>, start: number, end: number): Set<string> {
    const key = this.latin1(start, end); // one char per byte: equal strings, equal bytes
    if (set.has(key)) this.duplicate(start, end);
    set.add(key);
    return set;
  }

  duplicate(start: number, end: number): never {
    const text = new TextDecoder().decode(this.bytes.subarray(start, Math.min(end, start + 40)));
    return this.fail(`a map with the key ${JSON.stringify(text)} twice`, start);
  }

  latin1(start: number, end: number): string {
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + start, end - start).toString("latin1");
  }

  /** The content of a definite-length byte or text string of `n` bytes. */
  string(major: number, n: number): void {
    if (n > this.bytes.length - this.pos) this.fail(`a string of ${n} bytes with ${this.bytes.length - this.pos} left`);
    const start = this.pos;
    this.pos += n;
    if (major === 3) {
      const bad = invalidUtf8At(this.bytes, start, this.pos);
      if (bad >= 0) this.fail("a text string that is not valid UTF-8", bad);
    }
  }

  /** Chunks of an indefinite-length string: definite strings of the same major type, to a break. */
  indefiniteString(major: number, at: number): void {
    this.indefinite(at);
    while (!this.atBreak()) {
      const chunkAt = this.pos;
      const ib = this.byte();
      if (ib >> 5 !== major || (ib & 0x1f) === 31) this.fail("a chunk of an indefinite-length string that is not a definite string of its type", chunkAt);
      this.string(major, this.argument(ib & 0x1f, chunkAt));
    }
    this.pos++;
  }

  indefinite(at: number): void {
    if (this.preferred) this.fail("an indefinite length (not preferred serialization)", at);
  }

  atBreak(): boolean {
    if (this.pos >= this.bytes.length) this.fail("an indefinite-length item without its break code");
    return this.bytes[this.pos] === BREAK;
  }

  /** An item count that cannot exceed what the rest of the input could hold (`perItem` bytes each at least). */
  count(ai: number, at: number, perItem: number): number {
    const n = this.argument(ai, at);
    if (n * perItem > this.bytes.length - this.pos) this.fail(`${n} items with ${this.bytes.length - this.pos} bytes left`, at);
    return n;
  }

  /** The head's argument (a length or an integer's value; above 2^53 it is approximate, which only integers reach). */
  argument(ai: number, at: number): number {
    if (ai < 24) return ai;
    if (ai > 27) this.fail(`reserved additional information ${ai}`, at);
    const size = 1 << (ai - 24);
    if (size > this.bytes.length - this.pos) this.fail("a head cut short", at);
    let v = 0;
    for (let i = 0; i < size; i++) v = v * 256 + this.bytes[this.pos + i]!;
    this.pos += size;
    if (this.preferred && v < (ai === 24 ? 24 : 2 ** (4 << (ai - 24)))) this.fail(`the argument ${v} in a longer head than it needs (not preferred serialization)`, at);
    return v;
  }

  byte(): number {
    if (this.pos >= this.bytes.length) this.fail("an item cut short");
    return this.bytes[this.pos++]!;
  }

  fail(what: string, at = this.pos): never {
    throw new CborCheckError(`${what} at byte ${at}`);
  }
}

function sameBytes(b: Uint8Array, s1: number, e1: number, s2: number, e2: number): boolean {
  if (e1 - s1 !== e2 - s2) return false;
  for (let i = 0; i < e1 - s1; i++) if (b[s1 + i] !== b[s2 + i]) return false;
  return true;
}

/**
 * Offset of the first byte of `b[start, end)` that breaks UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or -1.
 */
export function invalidUtf8At(b: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0; // overlong
      if (c === 0xed) hi = 0x9f; // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90; // overlong
      if (c === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return i;
    if (i + n >= end) return i; // cut short
    const second = b[i + 1]!;
    if (second < lo || second > hi) return i;
    for (let k = 2; k <= n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return -1;
}
