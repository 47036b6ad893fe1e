import { describe, expect, test } from "bun:test";
import type { ByteSink } from "../transport/index.ts";
import { FrameType, decodeFrameHeader, frameHeader } from "./frame.ts";
import { FrameWriter } from "./frame-writer.ts";
import { MAX_FRAME_PAYLOAD } from "./limits.ts";

const T = FrameType;

/** A sink that records every write call's chunk list, keeping the chunk objects themselves. */
function recordingSink(): ByteSink & { calls: (readonly Uint8Array[])[] } {
  const calls: (readonly Uint8Array[])[] = [];
  return {
    calls,
    async write(chunks) {
      calls.push(chunks);
    },
    async end() {},
  };
}

describe("FrameWriter.writeMessage", () => {
  test("FrameWriter.writeMessage cuts a message into MAX_FRAME_PAYLOAD frames with END only on the last, in one write", async () => {
    const sink = recordingSink();
    const bytes = new Uint8Array(2 * MAX_FRAME_PAYLOAD + 123);
    await new FrameWriter(sink).writeMessage(T.HEADER, bytes);
    expect(sink.calls.length).toBe(1);
    const chunks = sink.calls[0]!;
    expect(chunks.length).toBe(6);
    const headers = [chunks[0]!, chunks[2]!, chunks[4]!].map((h) => decodeFrameHeader(h));
    expect(headers).toEqual([
      { type: T.HEADER, end: false, length: MAX_FRAME_PAYLOAD },
      { type: T.HEADER, end: false, length: MAX_FRAME_PAYLOAD },
      { type: T.HEADER, end: true, length: 123 },
    ]);
    // the payloads are views of the caller's bytes, not copies
    for (const [i, part] of [chunks[1]!, chunks[3]!, chunks[5]!].entries()) {
      expect(part.buffer).toBe(bytes.buffer);
      expect(part.byteOffset).toBe(i * MAX_FRAME_PAYLOAD);
    }
  });

  test.each([
    ["an empty message", 0, [0]],
    ["a message of exactly MAX_FRAME_PAYLOAD", MAX_FRAME_PAYLOAD, [MAX_FRAME_PAYLOAD]],
    ["a message of exactly 2 × MAX_FRAME_PAYLOAD", 2 * MAX_FRAME_PAYLOAD, [MAX_FRAME_PAYLOAD, MAX_FRAME_PAYLOAD]],
    ["a message of MAX_FRAME_PAYLOAD + 1", MAX_FRAME_PAYLOAD + 1, [MAX_FRAME_PAYLOAD, 1]],
  ])("FrameWriter.writeMessage sends %s as frames of %p bytes", async (_name, size, lengths) => {
    const sink = recordingSink();
    await new FrameWriter(sink).writeMessage(T.VALUE, new Uint8Array(size as number));
    const chunks = sink.calls[0]!;
    const headers = chunks.filter((_, i) => i % 2 === 0).map((h) => decodeFrameHeader(h));
    expect(headers).toEqual(lengths.map((length, i) => ({ type: T.VALUE, end: i === lengths.length - 1, length })));
  });
});

describe("FrameWriter.writeFrame", () => {
  test("FrameWriter.writeFrame passes the exact payload object to the sink after its header", async () => {
    const sink = recordingSink();
    const payload = new Uint8Array(1000).subarray(10, 510);
    await new FrameWriter(sink).writeFrame(T.DATA, false, payload);
    expect(sink.calls.length).toBe(1);
    expect(sink.calls[0]!.length).toBe(2);
    expect(sink.calls[0]![0]).toEqual(frameHeader(T.DATA, false, 500));
    expect(sink.calls[0]![1]).toBe(payload);
  });

  test("FrameWriter.writeFrame sends only the header for an empty payload", async () => {
    const sink = recordingSink();
    await new FrameWriter(sink).writeFrame(T.HEARTBEAT, true);
    expect(sink.calls).toEqual([[frameHeader(T.HEARTBEAT, true, 0)]]);
  });

  test.each([
    ["DATA with END", T.DATA, true, 1, "Frame DATA must not carry END"],
    ["a TRAILER without END", T.TRAILER, false, 1, "Frame TRAILER must carry END"],
    ["a payload over MAX_FRAME_PAYLOAD", T.DATA, false, MAX_FRAME_PAYLOAD + 1, "exceeds MAX_FRAME_PAYLOAD"],
  ])("FrameWriter.writeFrame throws a RangeError at once for %s and writes nothing", (_name, type, end, size, message) => {
    const sink = recordingSink();
    const w = new FrameWriter(sink);
    expect(() => w.writeFrame(type, end, new Uint8Array(size))).toThrow(RangeError);
    expect(() => w.writeFrame(type, end, new Uint8Array(size))).toThrow(message);
    expect(sink.calls).toEqual([]);
  });

  test("FrameWriter.writeRaw passes the bytes through unframed", async () => {
    const sink = recordingSink();
    const line = new TextEncoder().encode("ZFERRY 1 zferry/test\n");
    await new FrameWriter(sink).writeRaw(line);
    expect(sink.calls.length).toBe(1);
    expect(sink.calls[0]![0]).toBe(line);
  });
});

describe("FrameWriter ordering", () => {
  test("FrameWriter keeps one write in flight, in call order, and flush waits for all", async () => {
    const started: number[] = [];
    const releases: (() => void)[] = [];
    const sink: ByteSink = {
      write(chunks) {
        started.push(chunks[1]![0]!);
        return new Promise<void>((resolve) => releases.push(resolve));
      },
      async end() {},
    };
    const w = new FrameWriter(sink);
    const done: number[] = [];
    for (const n of [1, 2, 3]) void w.writeFrame(T.VALUE, true, new Uint8Array([n])).then(() => done.push(n));
    let flushed = false;
    const flush = w.flush().then(() => (flushed = true));
    for (let i = 0; i < 3; i++) {
      // wait until write i has reached the sink; the later ones must not have
      for (let turns = 0; releases.length <= i && turns < 100; turns++) await Promise.resolve();
      expect(started).toEqual([1, 2, 3].slice(0, i + 1));
      expect(flushed).toBe(false);
      releases[i]!();
    }
    await flush;
    expect(done).toEqual([1, 2, 3]);
  });

  test("FrameWriter fails every write queued after a failed one with the same error", async () => {
    let calls = 0;
    const boom = Object.assign(new Error("EPIPE: broken pipe"), { code: "EPIPE" });
    const sink: ByteSink = {
      async write() {
        calls++;
        throw boom;
      },
      async end() {},
    };
    const w = new FrameWriter(sink);
    const first = w.writeFrame(T.VALUE, true, new Uint8Array([1]));
    const second = w.writeFrame(T.VALUE, true, new Uint8Array([2]));
    expect(await first.catch((e) => e)).toBe(boom);
    expect(await second.catch((e) => e)).toBe(boom);
    expect(await w.flush().catch((e) => e)).toBe(boom);
    expect(calls).toBe(1);
  });
});
