import { describe, expect, test } from "bun:test";
import { ProtocolError } from "./errors.ts";
import { FrameReader } from "./frame-reader.ts";
import { checkPeerHello, decodeHello, encodeHello, escapeBytes } from "./handshake.ts";
import { MAX_HANDSHAKE_BYTES, PROTOCOL_VERSION } from "./limits.ts";

function ascii(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** A source that hands out `bytes` in pieces of the given sizes, then EOF. */
function piecesSource(bytes: Uint8Array, sizes: number[]) {
  let off = 0;
  let i = 0;
  return {
    async read(buf: Uint8Array): Promise<number> {
      if (off >= bytes.length) return 0;
      const n = Math.min(buf.length, sizes[i++ % sizes.length]!, bytes.length - off);
      buf.set(bytes.subarray(off, off + n));
      off += n;
      return n;
    },
  };
}

describe("encodeHello", () => {
  test("encodeHello writes 'ZFERRY <protocol> <software>\\n'", () => {
    expect(new TextDecoder().decode(encodeHello("zferry/0.1.0"))).toBe(`ZFERRY ${PROTOCOL_VERSION} zferry/0.1.0\n`);
  });

  test.each([
    ["an empty version", ""],
    ["a space", "zferry 0.1"],
    ["a newline", "zferry\n"],
    ["non-ASCII", "zférry"],
    ["41 characters", "z".repeat(41)],
  ])("encodeHello rejects %s with a RangeError", (_name, software) => {
    expect(() => encodeHello(software)).toThrow(RangeError);
    expect(() => encodeHello(software)).toThrow(`Invalid software version ${JSON.stringify(software)}`);
  });

  test("encodeHello accepts 40 printable characters", () => {
    expect(encodeHello("~".repeat(40)).length).toBe(9 + 40 + 1);
  });
});

describe("decodeHello", () => {
  test("decodeHello reads a valid line and reports the bytes it used, leaving what follows", () => {
    const bytes = ascii("ZFERRY 1 zferry/0.1.0\n\x01\x01\x00\x00");
    expect(decodeHello(bytes)).toEqual({ hello: { protocol: 1, software: "zferry/0.1.0" }, used: 22 });
  });

  test("decodeHello reads a line inside a subarray of a larger buffer", () => {
    const big = ascii("junk!ZFERRY 7 other/2.0\nmore");
    expect(decodeHello(big.subarray(5))).toEqual({ hello: { protocol: 7, software: "other/2.0" }, used: 19 });
  });

  test("decodeHello returns null for every proper prefix of a valid line (split delivery)", () => {
    const line = ascii("ZFERRY 1 zferry/0.1.0\n");
    for (let n = 0; n < line.length; n++) expect(decodeHello(line.subarray(0, n))).toBeNull();
    expect(decodeHello(line)?.used).toBe(line.length);
  });

  test("FrameReader.readHello assembles a line delivered one byte at a time", async () => {
    const reader = new FrameReader(piecesSource(ascii("ZFERRY 1 zferry/0.1.0\n"), [1]));
    expect(await reader.readHello()).toEqual({ protocol: 1, software: "zferry/0.1.0" });
    expect(await reader.next()).toBeNull();
  });

  test("decodeHello quotes a shell banner, escaped, in its error", () => {
    const bytes = ascii("Welcome to Ubuntu\n");
    const expected =
      'The peer does not speak zferry: expected a line starting with "ZFERRY ", got "Welcome to Ubuntu\\n" (a login banner or shell output on the ssh channel?)';
    expect(() => decodeHello(bytes)).toThrow(ProtocolError);
    expect(() => decodeHello(bytes)).toThrow(expected);
  });

  test("decodeHello refuses a banner from its first byte, without waiting for a newline", () => {
    expect(() => decodeHello(ascii("W"))).toThrow(new ProtocolError(
      'The peer does not speak zferry: expected a line starting with "ZFERRY ", got "W" (a login banner or shell output on the ssh channel?)',
    ));
    expect(() => decodeHello(ascii("ZFERRX"))).toThrow('got "ZFERRX"');
  });

  test("decodeHello escapes binary junk in its error", () => {
    expect(() => decodeHello(new Uint8Array([0x01, 0x01, 0x00, 0xff]))).toThrow('got "\\x01\\x01\\x00\\xff"');
  });

  test("decodeHello rejects a line without a newline within MAX_HANDSHAKE_BYTES", () => {
    const bytes = ascii(`ZFERRY 1 ${"a".repeat(MAX_HANDSHAKE_BYTES)}`);
    expect(() => decodeHello(bytes.subarray(0, MAX_HANDSHAKE_BYTES - 1))).not.toThrow(); // may still end
    expect(() => decodeHello(bytes.subarray(0, MAX_HANDSHAKE_BYTES))).toThrow(ProtocolError);
    expect(() => decodeHello(bytes)).toThrow(`Handshake line longer than ${MAX_HANDSHAKE_BYTES} bytes: "ZFERRY 1 aaaa`);
  });

  test.each([
    ["a protocol that is not a number", "ZFERRY x zferry/0.1.0\n"],
    ["an empty software version", "ZFERRY 1 \n"],
    ["no software version", "ZFERRY 1\n"],
    ["two spaces", "ZFERRY  1 zferry\n"],
    ["a third field", "ZFERRY 1 zferry extra\n"],
    ["a protocol of 7 digits", "ZFERRY 1234567 zferry\n"],
    ["a CR before the newline", "ZFERRY 1 zferry/0.1.0\r\n"],
    ["a 41-character software version", `ZFERRY 1 ${"z".repeat(41)}\n`],
    ["a tab", "ZFERRY 1\tzferry\n"],
  ])("decodeHello rejects %s as a malformed line, quoting it", (_name, line) => {
    const bytes = ascii(line);
    expect(() => decodeHello(bytes)).toThrow(ProtocolError);
    expect(() => decodeHello(bytes)).toThrow(`Malformed handshake line: ${escapeBytes(bytes)}`);
  });
});

describe("checkPeerHello", () => {
  test("checkPeerHello accepts the same protocol version whatever the software", () => {
    expect(() => checkPeerHello({ protocol: PROTOCOL_VERSION, software: "zferry/9.9.9" }, "zferry/0.1.0")).not.toThrow();
  });

  test("checkPeerHello names both versions on a mismatch", () => {
    const peer = { protocol: PROTOCOL_VERSION + 1, software: "zferry/9.9.9" };
    expect(() => checkPeerHello(peer, "zferry/0.1.0")).toThrow(
      new ProtocolError(
        `Protocol version mismatch: the peer (zferry/9.9.9) speaks protocol ${PROTOCOL_VERSION + 1}, this side (zferry/0.1.0) speaks ${PROTOCOL_VERSION}; install the same zferry version on both ends`,
      ),
    );
  });
});

describe("escapeBytes", () => {
  test.each([
    ["printable ASCII", "abc XYZ ~", '"abc XYZ ~"'],
    ["a backslash", "a\\b", '"a\\\\b"'],
    ["newline, CR and tab", "\n\r\t", '"\\n\\r\\t"'],
    ["control bytes and DEL", "\x00\x1b\x7f", '"\\x00\\x1b\\x7f"'],
  ])("escapeBytes shows %s readably", (_name, text, shown) => {
    expect(escapeBytes(ascii(text))).toBe(shown);
  });

  test("escapeBytes shows bytes >= 0x80 as \\x escapes", () => {
    expect(escapeBytes(new Uint8Array([0x80, 0xff]))).toBe('"\\x80\\xff"');
  });

  test("escapeBytes cuts after `max` bytes and marks the cut", () => {
    expect(escapeBytes(ascii("abcdef"), 3)).toBe('"abc…"');
    expect(escapeBytes(ascii("abc"), 3)).toBe('"abc"');
  });
});

describe("FrameReader.readHello at the end of input", () => {
  test.each([
    ["before any byte", "", "The peer closed the connection before the handshake"],
    ["inside the line", "ZFERRY 1 zf", "The peer closed the connection in the middle of the handshake"],
  ])("FrameReader.readHello throws a ProtocolError when the input ends %s", async (_name, text, message) => {
    const reader = new FrameReader(piecesSource(ascii(text), [3]));
    const err = await reader.readHello().catch((e) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.message).toBe(message);
  });
});
