import { describe, expect, test } from "bun:test";
import { ChunkQueue, memoryPair } from "./memory.ts";

async function readAll(q: { read(buf: Uint8Array): Promise<number> }, bufSize = 1 << 16): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(bufSize);
  for (;;) {
    const n = await q.read(buf);
    if (n === 0) return new Uint8Array(Buffer.concat(parts));
    parts.push(buf.slice(0, n));
  }
}

describe("ChunkQueue", () => {
  test("ChunkQueue applies backpressure: a write of 8 MiB completes only after the reader has taken most of it", async () => {
    const q = new ChunkQueue();
    const total = 8 << 20;
    let readWhenDone = -1;
    let read = 0;
    const write = q.write([new Uint8Array(total)]).then(() => (readWhenDone = read));
    // Nothing has been read yet; let the writer run as far as it can.
    await Promise.resolve();
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(readWhenDone).toBe(-1);
    const buf = new Uint8Array(256 << 10);
    while (read < total) read += await q.read(buf);
    await write;
    // The write resolved once the queue was back under its high-water mark (1 MiB), not before.
    expect(readWhenDone).toBeGreaterThanOrEqual(total - (1 << 20));
  });

  test("ChunkQueue delivers bytes in order across partial reads, then 0 after end", async () => {
    const q = new ChunkQueue();
    await q.write([new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array([4])]);
    await q.write([new Uint8Array([5, 6])]);
    await q.end();
    const two = new Uint8Array(2);
    const got: number[] = [];
    for (let n; (n = await q.read(two)) > 0; ) got.push(...two.subarray(0, n));
    expect(got).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await q.read(two)).toBe(0);
  });

  test("ChunkQueue copies written chunks, so the writer may reuse its buffer once write resolves", async () => {
    const q = new ChunkQueue();
    const buf = new Uint8Array([7, 7, 7]);
    await q.write([buf]);
    buf.fill(0);
    await q.end();
    expect([...(await readAll(q))]).toEqual([7, 7, 7]);
  });

  test("ChunkQueue.read waits for a write instead of returning 0", async () => {
    const q = new ChunkQueue();
    const pending = q.read(new Uint8Array(4));
    await q.write([new Uint8Array([9])]);
    expect(await pending).toBe(1);
  });

  test("ChunkQueue.end releases a read waiting on an empty queue with 0", async () => {
    const q = new ChunkQueue();
    const pending = q.read(new Uint8Array(4));
    await q.end();
    expect(await pending).toBe(0);
  });

  test("ChunkQueue.end releases a writer blocked on backpressure", async () => {
    const q = new ChunkQueue();
    const write = q.write([new Uint8Array(4 << 20)]);
    await q.end();
    await write; // resolves rather than hanging
  });

  test("ChunkQueue.write after end rejects with EPIPE", async () => {
    const q = new ChunkQueue();
    await q.end();
    const err = await q.write([new Uint8Array(1)]).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe("write after end");
    expect(err.code).toBe("EPIPE");
  });

  test("ChunkQueue re-cuts writes with `split` without changing the bytes", async () => {
    const q = new ChunkQueue((c) => Array.from({ length: c.length }, (_, i) => c.subarray(i, i + 1)));
    await q.write([new Uint8Array([1, 2, 3, 4])]);
    await q.end();
    const one = new Uint8Array(10);
    expect(await q.read(one)).toBe(1); // one piece per read
    expect([...(await readAll(q))]).toEqual([2, 3, 4]);
  });
});

describe("memoryPair", () => {
  test("memoryPair connects A's sink to B's source and B's sink to A's source", async () => {
    const [a, b] = memoryPair();
    await a.sink.write([new TextEncoder().encode("to b")]);
    await b.sink.write([new TextEncoder().encode("to a")]);
    await a.close();
    await b.close();
    expect(new TextDecoder().decode(await readAll(b.source))).toBe("to b");
    expect(new TextDecoder().decode(await readAll(a.source))).toBe("to a");
  });

  test("memoryPair: closing one side ends only its output; it can still read", async () => {
    const [a, b] = memoryPair();
    await a.close();
    expect(await b.source.read(new Uint8Array(1))).toBe(0);
    await b.sink.write([new Uint8Array([1])]);
    expect(await a.source.read(new Uint8Array(1))).toBe(1);
    await a.close(); // twice is fine
  });

  test("memoryPair has no fds, so the data path takes its portable loop", () => {
    const [a] = memoryPair();
    expect(a.source.fd).toBeUndefined();
    expect(a.sink.fd).toBeUndefined();
  });
});
