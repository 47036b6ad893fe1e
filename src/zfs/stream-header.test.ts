import { describe, expect, test } from "bun:test";
import { DMU_BACKUP_MAGIC, STREAM_HEADER_BYTES, decodeStreamHeader } from "./stream-header.ts";

/** A BEGIN record as zfs writes it, in either byte order. */
function begin(fields: { hdrtype?: number; features?: number; littleEndian?: boolean; recordType?: number; magic?: bigint; toname?: string; payload?: number }): Uint8Array {
  const { hdrtype = 1, features = 4, littleEndian = true, recordType = 0, magic = DMU_BACKUP_MAGIC, toname = "tank/a@s1", payload = 0 } = fields;
  const bytes = new Uint8Array(STREAM_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, recordType, littleEndian);
  view.setUint32(4, payload, littleEndian);
  view.setBigUint64(8, magic, littleEndian);
  view.setBigUint64(16, (BigInt(features) << 2n) | BigInt(hdrtype), littleEndian);
  view.setBigUint64(24, 1_700_000_000n, littleEndian);
  view.setUint32(32, 2, littleEndian);
  view.setBigUint64(40, 0xfedcba9876543210n, littleEndian);
  view.setBigUint64(48, 42n, littleEndian);
  bytes.set(new TextEncoder().encode(toname), 56);
  return bytes;
}

describe("decodeStreamHeader", () => {
  test.each([
    ["little-endian substream", { littleEndian: true }, "substream"],
    ["big-endian substream", { littleEndian: false }, "substream"],
    ["little-endian compound stream (zfs send -p)", { hdrtype: 2, payload: 1200 }, "compound"],
    ["big-endian compound stream", { hdrtype: 2, littleEndian: false }, "compound"],
  ] as [string, Parameters<typeof begin>[0], "substream" | "compound"][])("reads a %s", (_, fields, kind) => {
    const [header, next] = decodeStreamHeader(begin(fields));
    expect(next).toBe(STREAM_HEADER_BYTES);
    expect(header).toEqual({
      kind,
      littleEndian: fields.littleEndian ?? true,
      features: 4,
      payloadBytes: fields.payload ?? 0,
      creation: 1_700_000_000n,
      toguid: 0xfedcba9876543210n,
      fromguid: 42n,
      toname: "tank/a@s1",
    });
  });

  test("reads a record at a non-zero offset of a larger buffer", () => {
    const big = new Uint8Array(7 + STREAM_HEADER_BYTES + 100);
    big.set(begin({ hdrtype: 2, toname: "p/x y@z" }), 7);
    const [header, next] = decodeStreamHeader(big.subarray(3), 4);
    expect([header.kind, header.toname, next]).toEqual(["compound", "p/x y@z", 4 + STREAM_HEADER_BYTES]);
  });

  test.each([
    ["an empty stream", new Uint8Array(0), RangeError, "got 0 bytes"],
    ["a stream cut inside the record", begin({}).subarray(0, 311), RangeError, "got 311 bytes"],
    ["bytes that are not a stream", new TextEncoder().encode("#!/bin/sh\n".padEnd(400, "x")), TypeError, "bad magic"],
    ["the fake zfs's stream", new TextEncoder().encode("FAKEZFS1".padEnd(400, "\0")), TypeError, "bad magic"],
    ["a record that is not BEGIN", begin({ recordType: 1 }), TypeError, "type 1, not BEGIN"],
    ["header type 0", begin({ hdrtype: 0 }), TypeError, "unknown header type 0"],
    ["header type 3", begin({ hdrtype: 3 }), TypeError, "unknown header type 3"],
  ])("refuses %s", (_, bytes, cls, message) => {
    expect(() => decodeStreamHeader(bytes)).toThrow(cls);
    expect(() => decodeStreamHeader(bytes)).toThrow(message);
  });
});
