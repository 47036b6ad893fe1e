import { describe, expect, test } from "bun:test";
import type { ByteSource } from "../transport/index.ts";
import { ProtocolError } from "./errors.ts";
import { FrameType, frameHeader } from "./frame.ts";
import { FrameReader } from "./frame-reader.ts";
import { encodeHello } from "./handshake.ts";
import { FRAME_HEADER_BYTES, MAX_FRAME_PAYLOAD } from "./limits.ts";
import { prng } from "../../test/helpers/prng.ts";

const T = FrameType;

interface Spec {
  type: FrameType;
  end: boolean;
  payload: Uint8Array;
}


function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function encodeFrames(frames: Spec[]): Uint8Array {
  return concat(frames.flatMap((f) => [frameHeader(f.type, f.end, f.payload.length), f.payload]));
}

/** Random frames that obey the type rules, payload sizes from every length class up to MAX_FRAME_PAYLOAD. */
function randomFrames(rand: () => number, count: number): Spec[] {
  const sizes = [0, 1, 7, 8, 9, 255, 4096, 65_537, MAX_FRAME_PAYLOAD];
  const out: Spec[] = [];
  for (let i = 0; i < count; i++) {
    const type = ([T.HEADER, T.VALUE, T.DATA, T.TRAILER, T.RESET, T.HEARTBEAT] as const)[Math.floor(rand() * 6)]!;
    let len = sizes[Math.floor(rand() * sizes.length)]!;
    if (len === MAX_FRAME_PAYLOAD && rand() < 0.7) len = Math.floor(rand() * 2000); // keep the big ones rare
    if (type === T.HEARTBEAT) len = 0;
    if ((type === T.TRAILER || type === T.RESET) && len > 1000) len = 1000;
    const end = type === T.DATA ? false : type === T.HEADER || type === T.VALUE ? rand() < 0.5 : true;
    const payload = new Uint8Array(len);
    for (let j = 0; j < len; j += 97) payload[j] = Math.floor(rand() * 256);
    if (len) payload[len - 1] = i & 0xff;
    out.push({ type, end, payload });
  }
  return out;
}

/** A source over `bytes` whose every read returns a random 1..maxRead bytes (never more than asked). */
function randomReadSource(bytes: Uint8Array, rand: () => number, maxRead: number): ByteSource & { buffers: Set<ArrayBufferLike> } {
  let off = 0;
  const buffers = new Set<ArrayBufferLike>();
  return {
    buffers,
    async read(buf) {
      buffers.add(buf.buffer);
      if (off >= bytes.length) return 0;
      const n = Math.min(buf.length, 1 + Math.floor(rand() * maxRead), bytes.length - off);
      buf.set(bytes.subarray(off, off + n));
      off += n;
      return n;
    },
  };
}

/** A source that delivers `bytes`, then never answers again (a silent peer). */
function thenSilent(bytes: Uint8Array): ByteSource {
  let sent = false;
  return {
    read(buf) {
      if (sent) return new Promise<number>(() => {});
      sent = true;
      buf.set(bytes);
      return Promise.resolve(bytes.length);
    },
  };
}

const BASE_SEED = Number(process.env.TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe("FrameReader over random read sizes", () => {
  const runs: [number, number][] = [];
  for (let i = 0; i < 12; i++) runs.push([BASE_SEED + i, [3, 13, 4096, 1 << 21][i % 4]!]);

  test.each(runs)("FrameReader yields the frames that were written, whatever the read sizes (seed %d, reads of 1..%d bytes)", async (seed, maxRead) => {
    const rand = prng(seed);
    try {
      const frames = randomFrames(rand, maxRead < 100 ? 40 : 120);
      const hello = encodeHello("zferry/test");
      const source = randomReadSource(concat([hello, encodeFrames(frames)]), rand, maxRead);
      const reader = new FrameReader(source);
      expect(await reader.readHello()).toEqual({ protocol: 1, software: "zferry/test" });
      for (const want of frames) {
        const got = await reader.next();
        expect(got).not.toBeNull();
        expect({ type: got!.type, end: got!.end, length: got!.payload.length }).toEqual({ type: want.type, end: want.end, length: want.payload.length });
        expect(Buffer.compare(got!.payload, want.payload)).toBe(0);
      }
      expect(await reader.next()).toBeNull();
    } catch (err) {
      (err as Error).message = `seed ${seed} (rerun with TEST_SEED=${seed}): ${(err as Error).message}`;
      throw err;
    }
  });
});

describe("FrameReader", () => {
  test("FrameReader hands out payloads as views of the buffer it read into, not copies", async () => {
    const a = new Uint8Array([1, 2, 3]);
    const b = new Uint8Array([4, 5, 6, 7]);
    const source = randomReadSource(encodeFrames([{ type: T.VALUE, end: false, payload: a }, { type: T.VALUE, end: true, payload: b }]), () => 0.99, 1 << 20);
    const reader = new FrameReader(source);
    const first = await reader.next();
    const firstBuffer = first!.payload.buffer;
    const second = await reader.next();
    expect([...second!.payload]).toEqual([4, 5, 6, 7]);
    expect(source.buffers.size).toBe(1); // every read went into one reused buffer
    expect(source.buffers.has(firstBuffer)).toBe(true);
    expect(second!.payload.buffer).toBe(firstBuffer);
    expect(second!.payload.byteOffset).toBe(FRAME_HEADER_BYTES + 3 + FRAME_HEADER_BYTES);
  });

  test("FrameReader.next returns null at the end of input between frames, and again after", async () => {
    const reader = new FrameReader(randomReadSource(encodeFrames([{ type: T.HEARTBEAT, end: true, payload: new Uint8Array(0) }]), Math.random, 5));
    expect(await reader.next()).toEqual({ type: T.HEARTBEAT, end: true, payload: new Uint8Array(0) });
    expect(await reader.next()).toBeNull();
    expect(await reader.next()).toBeNull();
  });

  const whole = encodeFrames([{ type: T.DATA, end: false, payload: new Uint8Array(10).fill(9) }]);
  test.each([
    ["inside the header", 3, "The connection ended inside a frame header (3 of 8 bytes)"],
    ["right after the header", 8, "The connection ended inside a DATA frame (0 of 10 payload bytes)"],
    ["inside the payload", 12, "The connection ended inside a DATA frame (4 of 10 payload bytes)"],
  ])("FrameReader.next throws a ProtocolError when the input ends %s", async (_name, cut, message) => {
    const reader = new FrameReader(randomReadSource(whole.subarray(0, cut), Math.random, 2));
    const err = await reader.next().catch((e) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.message).toBe(message);
  });

  test("FrameReader rejects a length over MAX_FRAME_PAYLOAD before waiting for any payload byte", async () => {
    const header = new Uint8Array([0x01, 0x01, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    const err = await new FrameReader(thenSilent(header)).next().catch((e) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.message).toBe(`Frame HEADER payload length 4294967295 exceeds MAX_FRAME_PAYLOAD (${MAX_FRAME_PAYLOAD})`);
  });

  test("FrameReader reads a frame with a MAX_FRAME_PAYLOAD payload after unaligned input", async () => {
    const big = new Uint8Array(MAX_FRAME_PAYLOAD);
    big[0] = 1;
    big[MAX_FRAME_PAYLOAD - 1] = 2;
    const frames: Spec[] = [
      { type: T.VALUE, end: false, payload: new Uint8Array(5) },
      { type: T.VALUE, end: true, payload: big },
      { type: T.DATA, end: false, payload: big },
    ];
    const reader = new FrameReader(randomReadSource(encodeFrames(frames), Math.random, 300_000));
    for (const want of frames) {
      const got = await reader.next();
      expect(got!.payload.length).toBe(want.payload.length);
      expect(Buffer.compare(got!.payload, want.payload)).toBe(0);
    }
  });

  test("FrameReader.takeBuffered returns the unparsed bytes and giveBack puts them in front again", async () => {
    const frames: Spec[] = [
      { type: T.HEADER, end: true, payload: new Uint8Array([1]) },
      { type: T.DATA, end: false, payload: new Uint8Array([2, 2]) },
      { type: T.TRAILER, end: true, payload: new Uint8Array([3, 3, 3]) },
    ];
    const bytes = encodeFrames(frames);
    // one read delivers everything: the reader holds frames 2 and 3 unparsed after frame 1
    const reader = new FrameReader(randomReadSource(bytes, () => 0.99, bytes.length));
    expect((await reader.next())!.payload).toEqual(new Uint8Array([1]));
    const rest = reader.takeBuffered();
    expect(rest).toEqual(bytes.subarray(FRAME_HEADER_BYTES + 1));
    expect(reader.takeBuffered()).toEqual(new Uint8Array(0)); // empty afterwards
    reader.giveBack(rest.subarray(FRAME_HEADER_BYTES + 2)); // a pump used the DATA frame, returns the trailer
    expect(await reader.next()).toEqual({ type: T.TRAILER, end: true, payload: new Uint8Array([3, 3, 3]) });
    expect(await reader.next()).toBeNull();
  });

  test("FrameReader.giveBack keeps bytes the reader still held behind the returned ones", async () => {
    const a = encodeFrames([{ type: T.VALUE, end: true, payload: new Uint8Array([0xa]) }]);
    const b = encodeFrames([{ type: T.VALUE, end: true, payload: new Uint8Array([0xb]) }]);
    const c = encodeFrames([{ type: T.VALUE, end: true, payload: new Uint8Array([0xc]) }]);
    const reader = new FrameReader(randomReadSource(concat([a, c]), () => 0.99, 1000));
    expect((await reader.next())!.payload).toEqual(new Uint8Array([0xa])); // c is now buffered, unparsed
    reader.giveBack(b);
    expect((await reader.next())!.payload).toEqual(new Uint8Array([0xb]));
    expect((await reader.next())!.payload).toEqual(new Uint8Array([0xc]));
    expect(await reader.next()).toBeNull();
  });
});
