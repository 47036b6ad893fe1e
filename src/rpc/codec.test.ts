import { describe, expect, test } from "bun:test";
import { ProtocolError } from "../wire/index.ts";
import { countCborItems } from "./cbor-check.ts";
import { decodeCbor, encodeCbor, preparedForCbor } from "./codec.ts";

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

function bytes(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"));
}

describe("encodeCbor", () => {
  test("encodeCbor writes a request header as a standard CBOR map with text keys, no cbor-x record tags", () => {
    const encoded = encodeCbor({ endpoint: "echo", args: { text: "hi" }, body: "none", accept: "value" });
    expect(hex(encoded)).toBe(
      [
        "a4", //                               map(4)
        "68 656e64706f696e74", //              text(8) "endpoint"
        "64 6563686f", //                      text(4) "echo"
        "64 61726773", //                      text(4) "args"
        "a1 64 74657874 62 6869", //           map(1) { "text": "hi" }
        "64 626f6479", //                      text(4) "body"
        "64 6e6f6e65", //                      text(4) "none"
        "66 616363657074", //                  text(6) "accept"
        "65 76616c7565", //                    text(5) "value"
      ].join("").replace(/\s+/g, ""),
    );
  });

  test("encodeCbor uses the same standard encoding the second time a shape is seen (no record definitions)", () => {
    const a = encodeCbor({ status: "ok", body: "none" });
    const b = encodeCbor({ status: "ok", body: "none" });
    expect(hex(a)).toBe("a2 66737461747573 626f6b 64626f6479 646e6f6e65".replace(/ /g, ""));
    expect(b).toEqual(a);
  });

  test.each([
    ["0", 0, "00"],
    ["23", 23, "17"],
    ["24", 24, "1818"],
    ["2^32 - 1", 0xffffffff, "1affffffff"],
    ["-1", -1, "20"],
    ["2^64 - 1 (bigint)", 18446744073709551615n, "1bffffffffffffffff"],
    ["2^53 + 1 (bigint)", 9007199254740993n, "1b0020000000000001"],
    ["null", null, "f6"],
    ["true", true, "f5"],
    ["a Uint8Array, untagged", new Uint8Array([1, 2, 3]), "43010203"],
    ["a Buffer, untagged", Buffer.from([0xff]), "41ff"],
    ["a subarray: only its own bytes", new Uint8Array([9, 1, 2, 9]).subarray(1, 3), "420102"],
    ["an array", [1, "a"], "82016161"],
  ])("encodeCbor encodes %s as standard CBOR", (_name, value, expected) => {
    expect(hex(encodeCbor(value))).toBe(expected);
  });

  // A trailer's `bytes` for a stream over 4 GiB is a plain number; peers decode counts as unsigned integers.
  test.each([
    ["2^32", 2 ** 32, "1b0000000100000000"],
    ["5 GB", 5_000_000_000, "1b000000012a05f200"],
    ["Number.MAX_SAFE_INTEGER", Number.MAX_SAFE_INTEGER, "1b001fffffffffffff"],
  ])("encodeCbor encodes the integer number %s as a CBOR unsigned integer, not a float", (_name, value, expected) => {
    expect(hex(encodeCbor(value))).toBe(expected);
  });

  // Regression: list_versions wrote createtxg 19 as 1b 00 00 00 00 00 00 00 13 (every bigint got 8 bytes).
  test.each([
    ["the bigint 19 (a createtxg)", 19n, "13"],
    ["the bigint 1000", 1000n, "1903e8"],
    ["the bigint 2^32 - 1", 2n ** 32n - 1n, "1affffffff"],
    ["the bigint 2^32", 2n ** 32n, "1b0000000100000000"],
    ["the bigint -5", -5n, "24"],
    ["the number -2^32", -(2 ** 32), "3affffffff"],
    ["the bigint -2^32", -(2n ** 32n), "3affffffff"],
    ["the number -2^32 - 1", -(2 ** 32) - 1, "3b0000000100000000"],
  ])("encodeCbor writes %s with its shortest head", (_name, value, expected) => {
    expect(hex(encodeCbor(value))).toBe(expected);
  });

  test("encodeCbor writes preferred serialization for integers of every width, strings and containers of every length class", () => {
    const values: unknown[] = [];
    for (let bits = 0; bits <= 64; bits++) {
      const v = bits === 64 ? 2n ** 64n - 1n : 2n ** BigInt(bits);
      values.push(v, v - 1n, -v, Number(v) <= Number.MAX_SAFE_INTEGER ? Number(v) : 0, Number(v) <= Number.MAX_SAFE_INTEGER ? -Number(v) : 0);
    }
    for (const n of [0, 1, 23, 24, 25, 255, 256, 65535, 65536]) {
      values.push("a".repeat(n), "é".repeat(n), "😀".repeat(Math.min(n, 20000)), new Uint8Array(n), new Array(Math.min(n, 300)).fill(n), Object.fromEntries(Array.from({ length: Math.min(n, 300) }, (_, i) => [`k${i}`, i])));
    }
    for (const v of values) {
      const encoded = encodeCbor({ v, list: [v] });
      expect(() => countCborItems(encoded, { preferred: true })).not.toThrow();
    }
  });

  test.each([
    ["1.5", 1.5],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
  ])("encodeCbor refuses the non-integer number %s (the protocol has no floats)", (_name, value) => {
    expect(() => encodeCbor({ bytes: value })).toThrow(TypeError);
  });

  test("encodeCbor writes a lone surrogate as U+FFFD, never as invalid UTF-8", () => {
    expect(hex(encodeCbor("\ud800x"))).toBe("64efbfbd78");
  });

  test("encodeCbor output stays unchanged while later values are encoded", () => {
    const first = encodeCbor({ reason: "first", scope: "stream" });
    const copy = Uint8Array.from(first);
    for (let i = 0; i < 2000; i++) encodeCbor({ reason: "x".repeat(i % 300), scope: "connection" });
    expect(first).toEqual(copy);
  });
});

describe("decodeCbor", () => {
  test("preparedForCbor copies only where an integer changes form; a value without any is not copied", () => {
    const listing = { versions: Array.from({ length: 1000 }, (_, i) => ({ name: `s${i}`, guid: 2n ** 63n + BigInt(i), createtxg: i, creation: 1_700_000_000 + i })) };
    expect(preparedForCbor(listing)).toBe(listing);
    const trailer = { ok: true, bytes: 5 * 2 ** 30, parts: [1, 2 ** 40, 19n] };
    const wide = preparedForCbor(trailer) as typeof trailer;
    expect(wide).toEqual({ ok: true, bytes: 5n * 2n ** 30n, parts: [1, 2n ** 40n, 19] } as never);
    expect(trailer.bytes).toBe(5 * 2 ** 30); // the input is left alone
    expect(trailer.parts[1]).toBe(2 ** 40);
  });

  test("decodeCbor reads unsigned 64-bit integers exactly, as bigints", () => {
    expect(decodeCbor(bytes("1bffffffffffffffff"), "x")).toBe(18446744073709551615n);
    expect(decodeCbor(bytes("1b0020000000000001"), "x")).toBe(9007199254740993n);
  });

  test("decodeCbor round-trips a map holding every kind of value a header carries", () => {
    const value = { s: "tank/a b@snap", n: 42, big: 18446744073709551615n, yes: true, none: null, list: ["x", 1], bytes: new Uint8Array([0, 255]) };
    const back = decodeCbor(encodeCbor(value), "x") as Record<string, unknown>;
    expect({ ...back, bytes: new Uint8Array(back.bytes as Uint8Array) }).toEqual(value);
  });

  test("decodeCbor decodes input at a non-zero offset of a larger buffer", () => {
    const item = encodeCbor({ status: "ok", body: "value" });
    const big = new Uint8Array(item.length + 20).fill(0xff); // 0xff alone is malformed CBOR
    big.set(item, 13);
    expect(decodeCbor(big.subarray(13, 13 + item.length), "x")).toEqual({ status: "ok", body: "value" });
  });

  test("decodeCbor returns byte strings as copies, not views of the input", () => {
    const input = encodeCbor({ b: new Uint8Array([1, 2, 3]) });
    const out = decodeCbor(input, "x") as { b: Uint8Array };
    input.fill(0);
    expect([...out.b]).toEqual([1, 2, 3]);
  });

  test.each([
    ["empty input", "", "Malformed CBOR in a request header: "],
    ["a reserved additional-information value", "1c", "Malformed CBOR in a request header: "],
    ["a lone break byte", "ff", "Malformed CBOR in a request header: "],
    ["a text string cut short", "6261", "Malformed CBOR in a request header: "],
    ["a map missing its entries", "a1", "Malformed CBOR in a request header: "],
    ["one item followed by a trailing byte", "0100", "Malformed CBOR in a request header: expected exactly one item, found 2"],
    ["two whole maps", "a0a0", "Malformed CBOR in a request header: expected exactly one item, found 2"],
  ])("decodeCbor throws a ProtocolError naming what was read for %s", (_name, input, message) => {
    const run = () => decodeCbor(bytes(input), "a request header");
    expect(run).toThrow(ProtocolError);
    expect(run).toThrow(message);
  });

  test("decodeCbor rejects a trailing byte inside a subarray, but not bytes outside it", () => {
    const big = bytes("00 f6 00 00");
    expect(decodeCbor(big.subarray(1, 2), "x")).toBeNull();
    expect(() => decodeCbor(big.subarray(1, 3), "x")).toThrow("expected exactly one item, found 2");
  });
});
