import { describe, expect, test } from "bun:test";
import { CborWriter } from "./cbor-writer.ts";
import { encodeCbor } from "./codec.ts";

function written(value: unknown, initialBytes?: number): Uint8Array {
  const w = new CborWriter(initialBytes);
  w.value(value);
  return w.written().slice();
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

// Each head's edges (1, 2, 3, 5 and 9 bytes), both signs, numbers and bigints, on either side of
// where encodeCbor turns a number into a bigint (2^32) and where a number stops being exact (2^53).
const INTEGERS = [0, 1, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 60, -1, -24, -25, -256, -257, -(2 ** 32), -(2 ** 32) - 1, -(2 ** 53) + 1];
// (-2^64 is left out: cbor-x writes it as a bignum tag, where the preferred form has a head for it.)
const BIGINTS = [0n, 5n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 64n - 1n, -1n, -(2n ** 32n), -(2n ** 32n) - 1n, -(2n ** 64n) + 1n];
const TEXTS = ["", "a", "tank/data@autosnap_2026-12-07_06:00:00_hourly", "é", "日本", "😀", "\uD800x", "x\uDC00", "n".repeat(23), "n".repeat(24), "n".repeat(255), "n".repeat(256), "n".repeat(70_000)];

describe("CborWriter writes what encodeCbor writes", () => {
  test.each(INTEGERS)("the number %p", (n) => expect(hex(written(n))).toBe(hex(encodeCbor(n))));
  test.each(BIGINTS)("the bigint %p", (n) => expect(hex(written(n))).toBe(hex(encodeCbor(n))));
  test.each(TEXTS.map((t) => [JSON.stringify(t.length > 40 ? `${t.slice(0, 20)}… (${t.length})` : t), t]))("the text %s", (_, t) => expect(hex(written(t))).toBe(hex(encodeCbor(t))));

  test("byte strings, booleans and null", () => {
    for (const v of [new Uint8Array(0), new Uint8Array([1, 2, 3]), new Uint8Array(70_000).fill(7), new Uint8Array(10).subarray(3, 8), true, false, null]) {
      expect(hex(written(v))).toBe(hex(encodeCbor(v)));
    }
  });

  test("arrays and maps, nested, keys in their order, heads of every length", () => {
    const wide = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i]));
    const values = [
      [],
      [1, [2, [3, []]], "x", null],
      Array.from({ length: 24 }, (_, i) => i),
      Array.from({ length: 70_000 }, (_, i) => i % 300),
      {},
      { type: "filesystem", name: "tank/a", guid: 0xffff_ffff_ffff_fff0n, snapshots_changed: 1_700_000_000, placeholder: true },
      { z: 1, a: { b: [new Uint8Array([9]), -(2 ** 40)] } },
      wide,
    ];
    for (const v of values) expect(hex(written(v))).toBe(hex(encodeCbor(v)));
  });

  test("grows past its first buffer without losing what it wrote", () => {
    const v = { names: Array.from({ length: 5_000 }, (_, i) => `s${i}`), bytes: new Uint8Array(100_000).fill(1) };
    expect(hex(written(v, 16))).toBe(hex(encodeCbor(v)));
  });

  test("refuses what encodeCbor refuses, and what zferry never sends", () => {
    for (const v of [1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => encodeCbor(v)).toThrow(TypeError);
      expect(() => written(v)).toThrow(TypeError);
    }
    for (const v of [undefined, new Map(), new Date(0), 2n ** 64n, -(2n ** 64n) - 1n, [1, undefined]]) expect(() => written(v)).toThrow(TypeError);
    const w = new CborWriter();
    expect(() => w.uint(-1)).toThrow(TypeError);
    expect(() => w.uint(0.5)).toThrow(TypeError);
  });

  test("truncate() drops what was written after a size; written() is what is left and written since", () => {
    const w = new CborWriter();
    w.value("first");
    w.truncate();
    w.value([1, 2]);
    expect(w.size).toBe(3);
    w.value("tail");
    w.truncate(3);
    expect(hex(w.written())).toBe(hex(encodeCbor([1, 2])));
    expect(() => w.truncate(4)).toThrow(RangeError);
  });
});
