import { describe, expect, test } from "bun:test";
import { ProtocolError } from "../wire/index.ts";
import { encodeCbor } from "./codec.ts";
import { recordOf } from "../../test/helpers/wire-records.ts";
import { MAX_RECORD_BYTES, RecordBuilder, RecordDecoder } from "./record-stream.ts";

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

const records = [[{ type: "filesystem", name: "tank/a" }], [{ type: "snapshot", dataset: "tank/a", name: "s1", guid: 18446744073709551615n }], "x".repeat(70_000)];
const body = concat(records.map(recordOf));

describe("record streams", () => {
  test.each([1, 3, 7, 4096, body.byteLength])("decode the same records whatever the chunk size (%i bytes)", (size) => {
    const decoder = new RecordDecoder("test body");
    const out: unknown[] = [];
    for (let i = 0; i < body.byteLength; i += size) {
      // A fresh buffer each time, overwritten after the call: the decoder must not keep views of it.
      const chunk = body.slice(i, i + size);
      out.push(...decoder.push(chunk));
      chunk.fill(0xee);
    }
    decoder.end();
    expect(out).toEqual(records);
  });

  test("a record is its 4-byte big-endian length and its CBOR", () => {
    const cbor = encodeCbor([1, 2]);
    const builder = new RecordBuilder();
    for (const item of [1, 2]) builder.add((w) => w.value(item));
    expect([...builder.take()]).toEqual([0, 0, 0, cbor.byteLength, ...cbor]);
  });

  test.each<[string, Uint8Array, string]>([
    ["a length over the limit", new Uint8Array([0x00, 0x10, 0x00, 0x01]), "claims 1048577 bytes"],
    ["a zero length", new Uint8Array([0, 0, 0, 0]), "claims 0 bytes"],
    ["invalid CBOR (a float)", new Uint8Array([0, 0, 0, 9, 0xfb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]), "floating-point"],
    ["two items in one record", new Uint8Array([0, 0, 0, 2, 0x01, 0x02]), "exactly one item"],
  ])("a receiver refuses %s", (_label, bytes, message) => {
    const decoder = new RecordDecoder("test body");
    expect(() => decoder.push(bytes)).toThrow(ProtocolError);
    expect(() => new RecordDecoder("test body").push(bytes)).toThrow(message);
  });

  test("a body that ends inside a record is an error", () => {
    const decoder = new RecordDecoder("test body");
    expect(decoder.push(body.subarray(0, body.byteLength - 1)).length).toBe(2);
    expect(() => decoder.end()).toThrow("the body ended inside record 3");
  });

  test("a builder writes the record of the same items as an array, and starts over after each", () => {
    const builder = new RecordBuilder();
    expect(Buffer.from(builder.take()).toString("hex")).toBe(Buffer.from(recordOf([])).toString("hex"));
    for (const items of [[{ type: "filesystem", name: "tank/a" }, 18446744073709551615n], Array.from({ length: 600 }, (_, i) => ({ n: i, s: `s${i}` }))]) {
      for (const item of items) builder.add((w) => w.value(item));
      expect(builder.count).toBe(items.length);
      const record = builder.take();
      expect(Buffer.from(record).toString("hex")).toBe(Buffer.from(recordOf(items)).toString("hex"));
      expect([builder.count, builder.size]).toEqual([0, 0]);
    }
  });

  test("an item whose writing fails leaves nothing of it in the record", () => {
    const builder = new RecordBuilder();
    builder.add((w) => w.value("kept"));
    expect(() => builder.add((w) => w.value({ ok: 1, bad: 1.5 }))).toThrow(TypeError);
    expect(builder.count).toBe(1);
    expect(Buffer.from(builder.take()).toString("hex")).toBe(Buffer.from(recordOf(["kept"])).toString("hex"));
  });

  test("a builder refuses a record over the limit", () => {
    const builder = new RecordBuilder();
    builder.add((w) => w.bytes(new Uint8Array(MAX_RECORD_BYTES)));
    expect(() => builder.take()).toThrow(RangeError);
  });
});
