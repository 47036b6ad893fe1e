import { describe, expect, test } from "bun:test";
import { DMU_BACKUP_MAGIC, STREAM_HEADER_BYTES, decodeFirstSubstream, decodeStreamHeader, firstSubstreamEnd } from "./stream-header.ts";

/** A BEGIN record as zfs writes it, in either byte order. */
function begin(fields: { hdrtype?: number; features?: number; littleEndian?: boolean; recordType?: number; magic?: bigint; toname?: string; payload?: number; toguid?: bigint; fromguid?: bigint }): Uint8Array {
  const { hdrtype = 1, features = 4, littleEndian = true, recordType = 0, magic = DMU_BACKUP_MAGIC, toname = "tank/a@s1", payload = 0, toguid = 0xfedcba9876543210n, fromguid = 42n } = fields;
  const bytes = new Uint8Array(STREAM_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, recordType, littleEndian);
  view.setUint32(4, payload, littleEndian);
  view.setBigUint64(8, magic, littleEndian);
  view.setBigUint64(16, (BigInt(features) << 2n) | BigInt(hdrtype), littleEndian);
  view.setBigUint64(24, 1_700_000_000n, littleEndian);
  view.setUint32(32, 2, littleEndian);
  view.setBigUint64(40, toguid, littleEndian);
  view.setBigUint64(48, fromguid, littleEndian);
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

/** An END record (type 5), as a package's nvlist is followed by. */
function endRecord(littleEndian = true, type = 5): Uint8Array {
  const bytes = new Uint8Array(STREAM_HEADER_BYTES);
  new DataView(bytes.buffer).setUint32(0, type, littleEndian);
  return bytes;
}

const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

describe("decodeFirstSubstream", () => {
  test("a substream is its own first substream", () => {
    const bytes = begin({ toguid: 7n, fromguid: 3n });
    expect(firstSubstreamEnd(decodeStreamHeader(bytes)[0])).toBe(STREAM_HEADER_BYTES);
    expect(decodeFirstSubstream(bytes)).toMatchObject({ kind: "substream", toguid: 7n, fromguid: 3n });
  });

  test.each([
    ["zfs send -I (no nvlist), little-endian", 0, true],
    ["zfs send -p (an nvlist of properties), big-endian", 1200, false],
  ])("skips the package of %s: BEGIN, nvlist, END", (_, payload, littleEndian) => {
    // As OpenZFS 2.3 writes `zfs send -I @a fs@c`: a package BEGIN without GUIDs, then the first snapshot's substream.
    const stream = concat(
      begin({ hdrtype: 2, payload, littleEndian, toguid: 0n, fromguid: 0n, toname: "tank/a@c" }),
      new Uint8Array(payload),
      endRecord(littleEndian),
      begin({ littleEndian, toguid: 11n, fromguid: 10n, toname: "tank/a@b" }),
      new TextEncoder().encode("rest of the stream"),
    );
    const first = decodeStreamHeader(stream)[0];
    expect(firstSubstreamEnd(first)).toBe(3 * STREAM_HEADER_BYTES + payload);
    expect(decodeFirstSubstream(stream.subarray(0, firstSubstreamEnd(first)))).toMatchObject({ kind: "substream", toguid: 11n, fromguid: 10n, toname: "tank/a@b" });
  });

  test.each([
    ["a package cut before its substream", concat(begin({ hdrtype: 2 }), endRecord()), RangeError, "ends at byte 936"],
    ["a package followed by something that is not END", concat(begin({ hdrtype: 2 }), endRecord(true, 3), begin({})), TypeError, "type 3, not END"],
    ["a package followed by another package", concat(begin({ hdrtype: 2 }), endRecord(), begin({ hdrtype: 2 })), TypeError, "another package"],
    ["a package followed by garbage", concat(begin({ hdrtype: 2 }), endRecord(), new Uint8Array(STREAM_HEADER_BYTES).fill(7)), TypeError, "bad magic"],
  ])("refuses %s", (_, bytes, cls, message) => {
    expect(() => decodeFirstSubstream(bytes)).toThrow(cls);
    expect(() => decodeFirstSubstream(bytes)).toThrow(message);
  });
});
