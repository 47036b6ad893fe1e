import { afterEach, describe, expect, test } from "bun:test";
import { readSync, writeSync } from "node:fs";
import { closeQuietly, makePipe, type Pipe } from "../sys/pipe.ts";
import { FdSink, FdSource, dropWritten } from "./fd.ts";

/** Fails a wait that should end on its own, instead of letting the test hang to its timeout. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms)));
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

const open: Pipe[] = [];
const sources: FdSource[] = [];
function pipe(): Pipe {
  const p = makePipe();
  open.push(p);
  return p;
}
function source(fd: number): FdSource {
  const s = new FdSource(fd);
  sources.push(s);
  return s;
}

afterEach(() => {
  for (const s of sources.splice(0)) s.close();
  for (const p of open.splice(0)) {
    closeQuietly(p.readFd);
    closeQuietly(p.writeFd);
  }
});

describe("FdSource", () => {
  test("FdSource.close() ends a pending read with 0", async () => {
    const p = pipe();
    const src = source(p.readFd);
    const pending = src.read(new Uint8Array(16)); // nothing will ever be written
    src.close();
    expect(await within(pending, 3000, "read after close()")).toBe(0);
  });

  test("FdSource.read after close() resolves 0 at once", async () => {
    const p = pipe();
    const src = source(p.readFd);
    src.close();
    writeSync(p.writeFd, new Uint8Array([1]));
    expect(await src.read(new Uint8Array(1))).toBe(0);
  });

  test("FdSource.read reads no more than asked, leaving the rest in the fd", async () => {
    const p = pipe();
    writeSync(p.writeFd, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    const src = source(p.readFd);
    const buf = new Uint8Array(10).fill(0xee);
    expect(await src.read(buf.subarray(2, 5))).toBe(3);
    expect([...buf]).toEqual([0xee, 0xee, 1, 2, 3, 0xee, 0xee, 0xee, 0xee, 0xee]);
    const rest = new Uint8Array(10);
    expect(readSync(p.readFd, rest, 0, 10, null)).toBe(7); // the worker read nothing ahead
    expect([...rest.subarray(0, 7)]).toEqual([4, 5, 6, 7, 8, 9, 10]);
  });

  test("FdSource.read resolves 0 at EOF", async () => {
    const p = pipe();
    closeQuietly(p.writeFd);
    expect(await within(source(p.readFd).read(new Uint8Array(4)), 3000, "read at EOF")).toBe(0);
  });

  test("FdSource refuses a second read while one is pending", async () => {
    const p = pipe();
    const src = source(p.readFd);
    const first = src.read(new Uint8Array(4));
    const err = await src.read(new Uint8Array(4)).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe("FdSource: a read is already pending");
    writeSync(p.writeFd, new Uint8Array([5]));
    expect(await within(first, 3000, "first read")).toBe(1);
  });
});

describe("FdSink", () => {
  test("FdSink.write writes every chunk in order, also past the pipe's capacity", async () => {
    const p = pipe();
    const chunks = [new Uint8Array(3 << 20).fill(1), new Uint8Array(0), new Uint8Array([2, 3]), new Uint8Array(70_000).fill(4)];
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const sink = new FdSink(p.writeFd);
    const written = sink.write(chunks);
    const src = source(p.readFd);
    const got = new Uint8Array(total);
    for (let off = 0; off < total; ) off += await within(src.read(got.subarray(off)), 3000, "read");
    await within(written, 3000, "write");
    expect(Buffer.compare(got, Buffer.concat(chunks))).toBe(0);
  });

  test("FdSink.end with closeOnEnd closes the fd, so the reader sees EOF", async () => {
    const p = pipe();
    const sink = new FdSink(p.writeFd, { closeOnEnd: true });
    await sink.write([new Uint8Array([1])]);
    await sink.end();
    await sink.end(); // twice is fine
    const src = source(p.readFd);
    const buf = new Uint8Array(4);
    expect(await within(src.read(buf), 3000, "read")).toBe(1);
    expect(await within(src.read(buf), 3000, "read at EOF")).toBe(0);
  });

  test("FdSink.write to a pipe whose reader is gone rejects with EPIPE", async () => {
    const p = pipe();
    closeQuietly(p.readFd);
    const err = await new FdSink(p.writeFd).write([new Uint8Array(10)]).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe("EPIPE");
  });
});

describe("dropWritten", () => {
  const a = new Uint8Array([1, 2, 3]);
  const b = new Uint8Array([4, 5]);
  test.each([
    ["nothing", 0, [[1, 2, 3], [4, 5]]],
    ["part of the first chunk", 2, [[3], [4, 5]]],
    ["exactly the first chunk", 3, [[4, 5]]],
    ["into the second chunk", 4, [[5]]],
    ["everything", 5, []],
  ])("dropWritten drops %s", (_name, n, rest) => {
    expect(dropWritten([a, b], n).map((c) => [...c])).toEqual(rest);
  });

  test("dropWritten keeps views, not copies", () => {
    const [first] = dropWritten([a, b], 1);
    expect(first!.buffer).toBe(a.buffer);
    expect(first!.byteOffset).toBe(1);
  });
});
