import { describe, expect, test } from "bun:test";
import { ProtocolError } from "./errors.ts";
import { FLAG_END, FrameType, decodeFrameHeader, encodeFrameHeader, frameHeader, frameTypeName } from "./frame.ts";
import { FRAME_HEADER_BYTES, MAX_CONTROL_BYTES, MAX_FRAME_PAYLOAD } from "./limits.ts";

const T = FrameType;

/** Builds header bytes by hand, so tests can state rule-breaking fields the encoder refuses. */
function rawHeader(type: number, flags: number, reserved: number, length: number): Uint8Array {
  const b = new Uint8Array(FRAME_HEADER_BYTES);
  const v = new DataView(b.buffer);
  v.setUint8(0, type);
  v.setUint8(1, flags);
  v.setUint16(2, reserved);
  v.setUint32(4, length);
  return b;
}

/** Table rows [hex label, value], so test names show the bits as written. */
function hexCases(values: number[], digits = 2): [string, number][] {
  return values.map((v) => [v.toString(16).padStart(digits, "0"), v]);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

/** A frame each type accepts: [type, end, length]. */
const VALID: [keyof typeof FrameType, boolean, number][] = [
  ["HEADER", true, 0],
  ["HEADER", false, 1],
  ["HEADER", true, MAX_FRAME_PAYLOAD],
  ["VALUE", false, 0x12345],
  ["VALUE", true, 3],
  ["DATA", false, 0],
  ["DATA", false, MAX_FRAME_PAYLOAD],
  ["TRAILER", true, 11],
  ["TRAILER", true, MAX_CONTROL_BYTES],
  ["RESET", true, 0],
  ["RESET", true, MAX_CONTROL_BYTES],
  ["HEARTBEAT", true, 0],
];

describe("encodeFrameHeader / decodeFrameHeader", () => {
  test.each(VALID)("a %s frame (end %p, length %d) round-trips", (name, end, length) => {
    const buf = frameHeader(T[name], end, length);
    expect(buf.length).toBe(FRAME_HEADER_BYTES);
    expect(decodeFrameHeader(buf)).toEqual({ type: T[name], end, length });
  });

  test("encodeFrameHeader writes type, flags, two zero bytes and a big-endian length", () => {
    expect(hex(frameHeader(T.HEADER, true, 0x0001_2345))).toBe("0101000000012345");
    expect(hex(frameHeader(T.DATA, false, 0x0004_0000))).toBe("0300000000040000");
    expect(hex(frameHeader(T.HEARTBEAT, true, 0))).toBe("0601000000000000");
  });

  test("encodeFrameHeader writes at an offset inside a subarray and returns the next offset", () => {
    const big = new Uint8Array(64).fill(0xee);
    const view = big.subarray(7, 40);
    expect(encodeFrameHeader(view, 5, T.VALUE, true, 0x0102_03)).toBe(5 + FRAME_HEADER_BYTES);
    expect(hex(big.subarray(12, 20))).toBe("0201000000010203");
    // neighbours untouched
    expect(big[11]).toBe(0xee);
    expect(big[20]).toBe(0xee);
  });

  test("decodeFrameHeader reads at a non-zero offset of a subarray of a larger buffer", () => {
    const big = new Uint8Array(100).fill(0xff); // junk around the header must not be read
    big.set(rawHeader(T.TRAILER, FLAG_END, 0, 0x0000_0203), 30);
    const view = big.subarray(10, 60); // the header is at offset 20 of the view, 30 of the buffer
    expect(decodeFrameHeader(view, 20)).toEqual({ type: T.TRAILER, end: true, length: 0x203 });
  });

  test("decodeFrameHeader: every one of the 256 type bytes is either a known type or ProtocolError \"Unknown frame type 0x..\"", () => {
    const known = new Map<number, [boolean, number]>([
      [T.HEADER, [true, 5]],
      [T.VALUE, [false, 5]],
      [T.DATA, [false, 5]],
      [T.TRAILER, [true, 5]],
      [T.RESET, [true, 5]],
      [T.HEARTBEAT, [true, 0]],
    ]);
    let decoded = 0;
    for (let type = 0; type < 256; type++) {
      const rule = known.get(type);
      const bytes = rawHeader(type, rule?.[0] ? FLAG_END : 0, 0, rule?.[1] ?? 0);
      if (rule) {
        expect(decodeFrameHeader(bytes)).toEqual({ type: type as FrameType, end: rule[0], length: rule[1] });
        decoded++;
      } else {
        const name = `0x${type.toString(16).padStart(2, "0")}`;
        expect(() => decodeFrameHeader(bytes)).toThrow(ProtocolError);
        expect(() => decodeFrameHeader(bytes)).toThrow(`Unknown frame type ${name}`);
      }
    }
    expect(decoded).toBe(Object.keys(FrameType).length);
  });

  test.each(hexCases([0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x81, 0xff]))("decodeFrameHeader rejects reserved flag bits 0x%s", (_hex, flags) => {
    const bytes = rawHeader(T.HEADER, flags, 0, 1);
    expect(() => decodeFrameHeader(bytes)).toThrow(ProtocolError);
    expect(() => decodeFrameHeader(bytes)).toThrow(`Frame HEADER has reserved flag bits set: 0x${flags.toString(16)}`);
  });

  test.each(hexCases([0x0001, 0x0100, 0xffff], 4))("decodeFrameHeader rejects non-zero reserved bytes 0x%s", (_hex, reserved) => {
    const bytes = rawHeader(T.VALUE, FLAG_END, reserved, 1);
    expect(() => decodeFrameHeader(bytes)).toThrow(new ProtocolError("Frame VALUE has non-zero reserved bytes"));
  });

  test("decodeFrameHeader checks the type before the other fields", () => {
    expect(() => decodeFrameHeader(rawHeader(0x7f, 0xff, 0xffff, 0xffffffff))).toThrow(new ProtocolError("Unknown frame type 0x7f"));
  });

  const hostile: [string, Uint8Array, string][] = [
    ["a HEADER longer than MAX_FRAME_PAYLOAD", rawHeader(T.HEADER, FLAG_END, 0, MAX_FRAME_PAYLOAD + 1), `Frame HEADER payload length ${MAX_FRAME_PAYLOAD + 1} exceeds MAX_FRAME_PAYLOAD (${MAX_FRAME_PAYLOAD})`],
    ["a DATA frame of length 0xFFFFFFFF", rawHeader(T.DATA, 0, 0, 0xffffffff), `Frame DATA payload length 4294967295 exceeds MAX_FRAME_PAYLOAD (${MAX_FRAME_PAYLOAD})`],
    ["a TRAILER longer than MAX_CONTROL_BYTES", rawHeader(T.TRAILER, FLAG_END, 0, MAX_CONTROL_BYTES + 1), `Frame TRAILER payload length ${MAX_CONTROL_BYTES + 1} exceeds MAX_CONTROL_BYTES (${MAX_CONTROL_BYTES})`],
    ["a RESET longer than MAX_CONTROL_BYTES", rawHeader(T.RESET, FLAG_END, 0, MAX_CONTROL_BYTES + 1), `Frame RESET payload length ${MAX_CONTROL_BYTES + 1} exceeds MAX_CONTROL_BYTES (${MAX_CONTROL_BYTES})`],
    ["DATA with END", rawHeader(T.DATA, FLAG_END, 0, 4), "Frame DATA must not carry END: an octet stream ends with a TRAILER"],
    ["TRAILER without END", rawHeader(T.TRAILER, 0, 0, 4), "Frame TRAILER must carry END: it is a one-frame message"],
    ["RESET without END", rawHeader(T.RESET, 0, 0, 4), "Frame RESET must carry END: it is a one-frame message"],
    ["HEARTBEAT with a payload", rawHeader(T.HEARTBEAT, FLAG_END, 0, 1), "Frame HEARTBEAT must be empty and carry END"],
    ["HEARTBEAT without END", rawHeader(T.HEARTBEAT, 0, 0, 0), "Frame HEARTBEAT must be empty and carry END"],
  ];
  test.each(hostile)("decodeFrameHeader rejects %s with a ProtocolError", (_name, bytes, message) => {
    expect(() => decodeFrameHeader(bytes)).toThrow(ProtocolError);
    expect(() => decodeFrameHeader(bytes)).toThrow(message);
  });

  const badEncodes: [string, FrameType, boolean, number, string][] = [
    ["a length over MAX_FRAME_PAYLOAD", T.VALUE, true, MAX_FRAME_PAYLOAD + 1, `Frame VALUE payload length ${MAX_FRAME_PAYLOAD + 1} exceeds MAX_FRAME_PAYLOAD (${MAX_FRAME_PAYLOAD})`],
    ["a negative length", T.HEADER, true, -1, "Frame HEADER payload length -1 exceeds MAX_FRAME_PAYLOAD"],
    ["a fractional length", T.HEADER, true, 1.5, "Frame HEADER payload length 1.5 exceeds MAX_FRAME_PAYLOAD"],
    ["a NaN length", T.DATA, false, Number.NaN, "Frame DATA payload length NaN exceeds MAX_FRAME_PAYLOAD"],
    ["DATA with END", T.DATA, true, 1, "Frame DATA must not carry END: an octet stream ends with a TRAILER"],
    ["TRAILER without END", T.TRAILER, false, 1, "Frame TRAILER must carry END: it is a one-frame message"],
    ["RESET without END", T.RESET, false, 1, "Frame RESET must carry END: it is a one-frame message"],
    ["a RESET over MAX_CONTROL_BYTES", T.RESET, true, MAX_CONTROL_BYTES + 1, `Frame RESET payload length ${MAX_CONTROL_BYTES + 1} exceeds MAX_CONTROL_BYTES (${MAX_CONTROL_BYTES})`],
    ["HEARTBEAT with a payload", T.HEARTBEAT, true, 2, "Frame HEARTBEAT must be empty and carry END"],
    ["HEARTBEAT without END", T.HEARTBEAT, false, 0, "Frame HEARTBEAT must be empty and carry END"],
  ];
  test.each(badEncodes)("encodeFrameHeader throws RangeError for %s", (_name, type, end, length, message) => {
    const buf = new Uint8Array(FRAME_HEADER_BYTES);
    expect(() => encodeFrameHeader(buf, 0, type, end, length)).toThrow(RangeError);
    expect(() => encodeFrameHeader(buf, 0, type, end, length)).toThrow(message);
    expect(() => frameHeader(type, end, length)).toThrow(RangeError);
    expect(buf).toEqual(new Uint8Array(FRAME_HEADER_BYTES)); // nothing written before the check
  });
});

describe("frameTypeName", () => {
  test.each([
    [T.HEADER, "HEADER"],
    [T.VALUE, "VALUE"],
    [T.DATA, "DATA"],
    [T.TRAILER, "TRAILER"],
    [T.RESET, "RESET"],
    [T.HEARTBEAT, "HEARTBEAT"],
    [0x00, "0x00"],
    [0x07, "0x07"],
    [0x7f, "0x7f"],
    [0xff, "0xff"],
  ])("frameTypeName(%d) is %p", (type, name) => {
    expect(frameTypeName(type)).toBe(name);
  });
});
