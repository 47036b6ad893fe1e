/**
 * docs/protocol.md is part of the contract: its tables must match the code, and its worked hex
 * example must decode, with the real decoders, to the values it states and re-encode to the same
 * bytes with the real encoders.
 */
import { describe, expect, test } from "bun:test";
import { STATUSES, decodeCbor, encodeCbor } from "../src/rpc/index.ts";
import { parseRequestHeader } from "../src/rpc/messages.ts";
import * as limits from "../src/wire/limits.ts";
import { FrameReader, FrameType, decodeFrameHeader, decodeHello, encodeHello, frameHeader, frameTypeName } from "../src/wire/index.ts";

const DOC_PATH = `${import.meta.dir}/../docs/protocol.md`;
const doc = await Bun.file(DOC_PATH).text();

/** The text of a section, from its heading line to the next heading of the same or higher level. */
function section(heading: string): string {
  const level = heading.match(/^#+/)![0].length;
  const lines = doc.split("\n");
  const start = lines.findIndex((l) => l.trim() === heading);
  if (start < 0) throw new Error(`docs/protocol.md has no heading ${JSON.stringify(heading)}`);
  let end = lines.length;
  for (let i = start + 1; i < lines.length; i++) {
    const m = /^(#+) /.exec(lines[i]!);
    if (m && m[1]!.length <= level) {
      end = i;
      break;
    }
  }
  return lines.slice(start + 1, end).join("\n");
}

/** Rows of the first markdown table in `text`, as cells (header and separator rows dropped). */
function tableRows(text: string): string[][] {
  const rows = text.split("\n").filter((l) => l.trim().startsWith("|"));
  return rows.slice(2).map((r) => r.trim().slice(1, -1).split("|").map((c) => c.trim()));
}

/** The first `code` span of a cell. */
function code(cell: string): string {
  const m = /`([^`]+)`/.exec(cell);
  if (!m) throw new Error(`No \`code\` in table cell ${JSON.stringify(cell)}`);
  return m[1]!;
}

interface HexBlock {
  direction: "client" | "server";
  kind: "handshake" | "frame";
  bytes: Uint8Array;
  /** The json block after the hex block. */
  stated: Record<string, unknown>;
  /** 1-based line in the doc, for messages. */
  line: number;
}

/** Every ```hex <direction> <kind> block with the ```json block after it. */
function hexBlocks(): HexBlock[] {
  const re = /```hex (client|server) (handshake|frame)\n([\s\S]*?)```\s*```json\n([\s\S]*?)```/g;
  const out: HexBlock[] = [];
  for (const m of doc.matchAll(re)) {
    const line = doc.slice(0, m.index).split("\n").length;
    const hex: string[] = [];
    for (const [i, raw] of m[3]!.split("\n").entries()) {
      const [data, ...comment] = raw.split("#");
      if (!data!.trim()) continue;
      if (!comment.join("#").trim()) throw new Error(`docs/protocol.md:${line + 1 + i}: hex without an annotation: ${JSON.stringify(raw)}`);
      if (!/^([0-9a-f]{2} ?)+$/.test(data!.trim())) throw new Error(`docs/protocol.md:${line + 1 + i}: not hex bytes: ${JSON.stringify(data)}`);
      hex.push(...data!.trim().split(/\s+/));
    }
    out.push({
      direction: m[1] as HexBlock["direction"],
      kind: m[2] as HexBlock["kind"],
      bytes: new Uint8Array(hex.map((h) => Number.parseInt(h, 16))),
      stated: JSON.parse(m[4]!),
      line,
    });
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

describe("docs/protocol.md § Limits", () => {
  const rows = tableRows(section("## Limits"));

  test("the limits table lists every export of src/wire/limits.ts, and nothing else", () => {
    expect(rows.map((r) => code(r[0]!)).sort()).toEqual(Object.keys(limits).sort());
  });

  test.each(rows.map((r) => [code(r[0]!), r] as const))("the limits table states the value of %s", (name, row) => {
    expect(JSON.parse(code(row[1]!))).toBe((limits as Record<string, unknown>)[name]);
    expect(row[2]!.length).toBeGreaterThan(10); // a meaning, not an empty cell
  });
});

describe("docs/protocol.md tables", () => {
  test("the frame types table lists exactly FrameType, with its values", () => {
    const rows = tableRows(section("### Frame types"));
    const stated = Object.fromEntries(rows.map((r) => [code(r[1]!), Number.parseInt(code(r[0]!), 16)]));
    expect(stated).toEqual({ ...FrameType });
  });

  test("the statuses table lists exactly STATUSES, in order", () => {
    const rows = tableRows(section("## Statuses"));
    expect(rows.map((r) => code(r[0]!))).toEqual([...STATUSES]);
  });

  test("the request header table lists exactly the keys parseRequestHeader takes, request id included", () => {
    const keys = tableRows(section("### Request header (client → server, HEADER)")).map((r) => code(r[0]!));
    expect(keys).toEqual(["endpoint", "args", "body", "accept", "request"]);
    const header = { endpoint: "info", body: "none", accept: "value" };
    expect(parseRequestHeader({ ...header, request: "3f9a0c1d2e4b" }, "header")).toMatchObject({ request: "3f9a0c1d2e4b" });
    expect(parseRequestHeader(header, "header").request).toBeUndefined();
    expect(() => parseRequestHeader({ ...header, request: "a b" }, "header")).toThrow(TypeError);
    expect(() => parseRequestHeader({ ...header, surprise: 1 }, "header")).toThrow(TypeError);
  });

  test("the Endpoints table states the compression and bandwidth_limit arguments and info's compression", () => {
    const rows = Object.fromEntries(tableRows(section("## Endpoints")).map((r) => [code(r[0]!), r.slice(1).join(" | ")]));
    expect(rows.info).toContain("compression?: [type…]");
    for (const name of ["send", "resume_send"]) expect(rows[name]).toContain("compression?, bandwidth_limit?");
    expect(rows.receive).toContain("compression?");
    expect(doc).toContain("### Wire compression and pacing");
  });

  test("the Endpoints section exists for the server layer to fill in", () => {
    expect(doc).toContain("\n## Endpoints\n");
  });
});

describe("docs/protocol.md § Error handling", () => {
  // Regression: "Malformed request header: …" went out (and was documented) without its prefix.
  test("every RESET reason it quotes starts with the error's class, as the code writes it", () => {
    const reasons = [...section("## Error handling").matchAll(/`([^`]+)`/g)].map((m) => m[1]!).filter((c) => /^[A-Z][\w ]*: /.test(c));
    expect(reasons.length).toBeGreaterThanOrEqual(4);
    for (const r of reasons) expect(r).toMatch(/^(ProtocolError|ConnectionError): /);
  });
});

describe("docs/protocol.md § Worked example", () => {
  const blocks = hexBlocks();

  test("the worked example has both handshake lines, a request header, a response header and a VALUE frame", () => {
    expect(blocks.map((b) => `${b.direction} ${b.kind} ${b.kind === "frame" ? b.stated.type : ""}`.trim())).toEqual([
      "client handshake",
      "server handshake",
      "client frame HEADER",
      "server frame HEADER",
      "server frame VALUE",
    ]);
  });

  test.each(blocks.map((b) => [`${b.direction} ${b.kind}`, b.line, b] as const))(
    "the %s block at line %d decodes to the stated value and re-encodes to the same bytes",
    (_name, _line, b) => {
      if (b.kind === "handshake") {
        expect(decodeHello(b.bytes)).toEqual({ hello: b.stated as never, used: b.bytes.length });
        expect(b.stated.protocol).toBe(limits.PROTOCOL_VERSION);
        expect(encodeHello(b.stated.software as string)).toEqual(b.bytes);
        return;
      }
      const header = decodeFrameHeader(b.bytes, 0);
      const payload = b.bytes.subarray(limits.FRAME_HEADER_BYTES);
      expect({ type: frameTypeName(header.type), end: header.end, length: header.length }).toEqual({
        type: b.stated.type as string,
        end: b.stated.end as boolean,
        length: b.stated.length as number,
      });
      expect(payload.length).toBe(header.length);
      expect(decodeCbor(payload, "the example payload")).toEqual(b.stated.payload);
      const type = FrameType[b.stated.type as keyof typeof FrameType];
      expect(concat([frameHeader(type, b.stated.end as boolean, b.stated.length as number), encodeCbor(b.stated.payload)])).toEqual(b.bytes);
    },
  );

  test.each(["client", "server"] as const)("the %s's bytes, end to end, read as one handshake and whole frames with FrameReader", async (direction) => {
    const mine = blocks.filter((b) => b.direction === direction);
    const stream = concat(mine.map((b) => b.bytes));
    // a source that delivers the stream in 5-byte reads, from inside a larger buffer
    const backing = new Uint8Array(stream.length + 16).fill(0xee);
    backing.set(stream, 7);
    const view = backing.subarray(7, 7 + stream.length);
    let off = 0;
    const reader = new FrameReader({
      async read(buf) {
        const n = Math.min(buf.length, 5, view.length - off);
        buf.set(view.subarray(off, off + n));
        off += n;
        return n;
      },
    });
    expect(await reader.readHello()).toEqual(mine[0]!.stated as never);
    for (const b of mine.slice(1)) {
      const frame = await reader.next();
      expect(frame && frameTypeName(frame.type)).toBe(b.stated.type as string);
      expect(decodeCbor(frame!.payload, "the example payload")).toEqual(b.stated.payload);
    }
    expect(await reader.next()).toBeNull();
  });
});
