import { describe, expect, test } from "bun:test";
import { MAX_CBOR_NESTING } from "../wire/index.ts";
import { CborCheckError, countCborItems, invalidUtf8At } from "./cbor-check.ts";

function bytes(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"));
}

/** The input inside a larger buffer, at a non-zero offset, with malformed bytes around it. */
function embedded(input: Uint8Array): Uint8Array {
  const big = new Uint8Array(input.length + 10).fill(0x1c);
  big.set(input, 5);
  return big.subarray(5, 5 + input.length);
}

function nested(depth: number): Uint8Array {
  const out = new Uint8Array(depth + 1).fill(0x81); // array(1) … array(1) 0
  out[depth] = 0x00;
  return out;
}

describe("countCborItems", () => {
  test.each([
    ["an integer with a wider head than it needs", "1b0000000000000005", 1],
    ["a map of text keys", "a2 6161 01 6162 02", 1],
    ["false, true, null, undefined", "f4 f5 f6 f7", 4],
    ["an indefinite-length array and text", "9f 01 7f 6161 6162 ff ff", 1],
    ["an indefinite-length map", "bf 6161 01 ff", 1],
    ["valid UTF-8 of 1 to 4 bytes", "6a 61 c3a9 e282ac f09f9880", 1],
    ["two keys that differ only in their last byte", "a2 626161 01 626162 02", 1],
    ["nesting at the limit", Buffer.from(nested(MAX_CBOR_NESTING)).toString("hex"), 1],
  ])("countCborItems accepts %s", (_name, input, count) => {
    expect(countCborItems(embedded(bytes(input)))).toBe(count);
  });

  test.each([
    ["a map with a key twice (the last would win)", "a2 6161 01 6161 02", 'a map with the key "a" twice at byte 5'],
    ["a key twice, once with a non-shortest length head", "a2 6161 01 780161 02", 'a map with the key "a" twice'],
    ["a key twice in an indefinite-length map", "bf 6161 01 6161 02 ff", 'a map with the key "a" twice'],
    ["a key twice in a map of many keys", `b8 12 ${Array.from({ length: 17 }, (_, i) => `63 6b${(0x30 + Math.floor(i / 10)).toString(16)}${(0x30 + (i % 10)).toString(16)} 00`).join(" ")} 63 6b3030 00`, 'a map with the key "k00" twice'],
    ["an integer key (it would become the text key \"1\")", "a1 01 6161", "a map key that is not a definite-length text string at byte 1"],
    ["an indefinite-length text key", "a1 7f 6161 ff 01", "a map key that is not a definite-length text string"],
    ["invalid UTF-8 (a lone continuation byte)", "62 c328", "a text string that is not valid UTF-8 at byte 1"],
    ["an overlong UTF-8 form", "62 c0af", "not valid UTF-8"],
    ["a UTF-8 surrogate", "63 eda080", "not valid UTF-8"],
    ["UTF-8 above U+10FFFF", "64 f4908080", "not valid UTF-8"],
    ["a UTF-8 sequence cut at the end of the string", "62 61e2", "not valid UTF-8 at byte 2"],
    ["invalid UTF-8 in a chunk of an indefinite-length text", "7f 61ff ff", "not valid UTF-8"],
    ["a half float 1.0", "f9 3c00", "a floating-point number"],
    ["a float64 1000.0", "fb 408f400000000000", "a floating-point number"],
    ["a bignum tag", "c2 41 05", "a tag (zferry's messages use none)"],
    ["a simple value", "f0", "a simple value other than false, true, null and undefined"],
    ["a one-byte simple value", "f8 20", "a simple value"],
    ["a reserved additional information value", "1c", "reserved additional information 28"],
    ["a lone break code", "ff", "a break code outside an indefinite-length item"],
    ["an indefinite-length integer", "1f", "an integer with an indefinite length"],
    ["an array claiming more items than bytes left", "9a ffffffff 00", "4294967295 items with 1 bytes left"],
    ["a string claiming more bytes than left", "5a 00010000 00", "a string of 65536 bytes with 1 left"],
    ["an indefinite array without a break", "9f 01", "an indefinite-length item without its break code"],
    ["a chunk of another type in an indefinite byte string", "5f 6161 ff", "a chunk of an indefinite-length string"],
    ["nesting one level over the limit", Buffer.from(nested(MAX_CBOR_NESTING + 1)).toString("hex"), `items nested deeper than ${MAX_CBOR_NESTING} levels`],
  ])("countCborItems rejects %s", (_name, input, message) => {
    const run = () => countCborItems(embedded(bytes(input)));
    expect(run).toThrow(CborCheckError);
    expect(run).toThrow(message);
  });

  test("countCborItems rejects nesting a million levels deep without overflowing the stack", () => {
    expect(() => countCborItems(nested(1_000_000))).toThrow(`items nested deeper than ${MAX_CBOR_NESTING} levels`);
  });

  test.each([
    ["5 in a 1-byte argument", "1805", "the argument 5 in a longer head than it needs"],
    ["255 in a 2-byte argument", "1900ff", "the argument 255 in a longer head"],
    ["65535 in a 4-byte argument", "1a0000ffff", "the argument 65535 in a longer head"],
    ["2^32 - 1 in an 8-byte argument", "1b00000000ffffffff", "the argument 4294967295 in a longer head"],
    ["a text length in a longer head", "7801 61", "the argument 1 in a longer head"],
    ["an indefinite-length array", "9f ff", "an indefinite length"],
  ])("countCborItems with `preferred` rejects %s", (_name, input, message) => {
    expect(countCborItems(bytes(input))).toBe(1);
    expect(() => countCborItems(bytes(input), { preferred: true })).toThrow(message);
  });

  test("invalidUtf8At agrees with a fatal TextDecoder on every 1- and 2-byte sequence", () => {
    const fatal = new TextDecoder("utf-8", { fatal: true });
    const buf = new Uint8Array(4);
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        for (const tail of [[0x80, 0x80], [0x41, 0x41]]) {
          buf.set([a, b, ...tail]);
          let valid = true;
          try {
            fatal.decode(buf);
          } catch {
            valid = false;
          }
          if ((invalidUtf8At(buf, 0, 4) < 0) !== valid) throw new Error(`disagree on ${Buffer.from(buf).toString("hex")}`);
        }
      }
    }
  });
});
