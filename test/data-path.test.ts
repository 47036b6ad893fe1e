/**
 * The data path (src/wire/pump.ts via data-path.ts): splice and the copy loop put identical bytes
 * on the wire, deframe to the same output, leave the main thread free, and keep memory flat.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { closeQuietly, makePipe } from "../src/sys/pipe.ts";
import { FrameType, frameHeader, sendFrameBytes, startReceivePump, startSendPump } from "../src/wire/index.ts";
import { patternChunk } from "./helpers/test-endpoints.ts";

const WRITER = `${import.meta.dir}/fixtures/pattern-writer.ts`;
/** A consumer that drains its 1 MiB pipe 32 KiB at a time with pauses, as ssh does. */
const SLOW_READER = [process.execPath, `${import.meta.dir}/fixtures/slow-reader.ts`];
const saved = process.env.ZFERRY_COPY;
afterEach(() => {
  if (saved === undefined) delete process.env.ZFERRY_COPY;
  else process.env.ZFERRY_COPY = saved;
});

/** Runs the send pump over `bytes` of the pattern and returns every byte it wrote to the wire. */
async function wireBytes(mode: "splice" | "copy", bytes: number, writeSize = 0, collect = ["cat"]): Promise<{ wire: Uint8Array; usedMode: string }> {
  process.env.ZFERRY_COPY = mode === "copy" ? "1" : "0";
  const src = makePipe();
  const out = makePipe();
  const writer = Bun.spawn([process.execPath, WRITER, "4", String(bytes), String(writeSize)], { stdout: src.writeFd });
  closeQuietly(src.writeFd);
  const collector = Bun.spawn(collect, { stdin: out.readFd, stdout: "pipe" });
  closeQuietly(out.readFd);
  const collected = new Response(collector.stdout).bytes();
  const result = await startSendPump(src.readFd, out.writeFd).result;
  closeQuietly(out.writeFd);
  closeQuietly(src.readFd);
  await writer.exited;
  expect(result.bytes).toBe(bytes);
  return { wire: await collected, usedMode: result.mode };
}

describe("data path", () => {
  test("splice and copy produce identical wire bytes, every frame full but the last", async () => {
    const bytes = 3 * 1024 * 1024 + 123;
    const spliced = await wireBytes("splice", bytes);
    const copied = await wireBytes("copy", bytes);
    expect(spliced.usedMode).toBe("splice");
    expect(copied.usedMode).toBe("copy");
    expect(spliced.wire.length).toBe(bytes + 8 * Math.ceil(bytes / sendFrameBytes()));
    expect(Buffer.compare(spliced.wire, copied.wire)).toBe(0);
  });

  test("splice does not hang when small writes leave the pipe's pages partly filled", async () => {
    // A pipe holds page buffers, not bytes: 700-byte writes can fill the gathering pipe's slots
    // long before a frame's worth of bytes is in. This once blocked the sender forever.
    const bytes = 6 * 1024 * 1024 + 5;
    const { wire, usedMode } = await wireBytes("splice", bytes, 700);
    expect(usedMode).toBe("splice");
    const payload = deframe(wire);
    expect(payload.length).toBe(bytes);
    expect(Buffer.compare(payload, Buffer.from(patternChunk(4, 0, bytes)))).toBe(0);
  });

  test("the sender waits out a connection that stays full (batched waits) and loses nothing", async () => {
    const bytes = 5 * 1024 * 1024 + 3;
    const { wire, usedMode } = await wireBytes("splice", bytes, 0, SLOW_READER);
    expect(usedMode).toBe("splice");
    expect(Buffer.compare(deframe(wire), Buffer.from(patternChunk(4, 0, bytes)))).toBe(0);
  });

  const receivers = [
    ["splice", "a fast sink"],
    ["copy", "a fast sink"],
    ["splice", "a sink that stays full (batched waits)"],
  ] as const;
  for (const [mode, sink] of receivers) {
    test(`the ${mode} receiver deframes into ${sink} exactly the source bytes and stops at the trailer`, async () => {
      const bytes = 5 * 1024 * 1024 + 77;
      const { wire } = await wireBytes("copy", bytes);
      process.env.ZFERRY_COPY = mode === "copy" ? "1" : "0";
      const inPipe = makePipe();
      const dst = makePipe();
      const collector = Bun.spawn(sink === "a fast sink" ? ["cat"] : SLOW_READER, { stdin: dst.readFd, stdout: "pipe" });
      closeQuietly(dst.readFd);
      const collected = new Response(collector.stdout).bytes();
      // feed the wire bytes, a trailer, and one more frame that must stay unread
      const feeder = Bun.spawn(["cat"], { stdin: "pipe", stdout: inPipe.writeFd });
      closeQuietly(inPipe.writeFd);
      feeder.stdin.write(wire.subarray(0, 1000));
      const trailerPayload = new Uint8Array([0xa2, 0x62, 0x6f, 0x6b, 0xf5, 0x65, 0x62, 0x79, 0x74, 0x65, 0x73, 0x00]);
      feeder.stdin.write(wire.subarray(1000));
      feeder.stdin.write(frameHeader(FrameType.TRAILER, true, trailerPayload.length));
      feeder.stdin.write(trailerPayload);
      feeder.stdin.write(frameHeader(FrameType.HEARTBEAT, true, 0));
      const pump = startReceivePump(inPipe.readFd, new Uint8Array(0), dst.writeFd, { idleTimeoutMs: 10_000, onSinkError: () => {} });
      await feeder.stdin.end();
      const result = await pump.result;
      closeQuietly(dst.writeFd);
      closeQuietly(inPipe.readFd);
      expect(result.bytes).toBe(bytes);
      expect(result.end.type).toBe(FrameType.TRAILER);
      expect(result.end.payload).toEqual(trailerPayload);
      expect(Buffer.compare(await collected, Buffer.from(patternChunk(4, 0, bytes)))).toBe(0);
    });
  }

  test("the main thread keeps running timers while a pump moves 512 MiB, and RSS stays flat", async () => {
    const bytes = 512 << 20;
    const src = makePipe();
    const out = makePipe();
    const producer = Bun.spawn(["head", "-c", String(bytes), "/dev/zero"], { stdout: src.writeFd });
    closeQuietly(src.writeFd);
    const sink = Bun.spawn(["cat"], { stdin: out.readFd, stdout: "ignore" });
    closeQuietly(out.readFd);
    const rssBefore = rssMiB();
    let ticks = 0;
    let peak = rssBefore;
    const timer = setInterval(() => {
      ticks++;
      peak = Math.max(peak, rssMiB());
    }, 10);
    const t0 = performance.now();
    const result = await startSendPump(src.readFd, out.writeFd).result;
    const ms = performance.now() - t0;
    clearInterval(timer);
    closeQuietly(out.writeFd);
    closeQuietly(src.readFd);
    await Promise.all([producer.exited, sink.exited]);
    expect(result.bytes).toBe(bytes);
    expect(ticks).toBeGreaterThan(Math.floor(ms / 10 / 4)); // most ticks arrive: the loop is not blocked
    expect(peak - rssBefore).toBeLessThan(48); // MiB: a fixed buffer, not the stream
  });
});

/** The payload of a sequence of DATA frames. */
function deframe(wire: Uint8Array): Buffer {
  const parts: Uint8Array[] = [];
  const view = new DataView(wire.buffer, wire.byteOffset, wire.byteLength);
  for (let off = 0; off < wire.length; ) {
    const length = view.getUint32(off + 4);
    parts.push(wire.subarray(off + 8, off + 8 + length));
    off += 8 + length;
  }
  return Buffer.concat(parts);
}

function rssMiB(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) / 1024 : 0;
}
