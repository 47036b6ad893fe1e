/**
 * Figure: encode + decode in memory. FrameWriter → in-memory queue → FrameReader, DATA_FRAME_BYTES
 * frames, against the same queue carrying the same payload bytes unframed: the cost of framing
 * itself, without pipes or processes. `bun bench/codec.ts` (BENCH_GIB, BENCH_RUNS).
 */
import { ChunkQueue } from "../src/transport/index.ts";
import { DATA_FRAME_BYTES, FrameReader, FrameType, FrameWriter } from "../src/wire/index.ts";
import { benchBytes, compareThroughput, printFigure, printHeader } from "./lib.ts";

const payload = new Uint8Array(DATA_FRAME_BYTES).fill(7);

async function framed(bytes: number): Promise<number> {
  const queue = new ChunkQueue();
  const writer = new FrameWriter(queue);
  const reader = new FrameReader(queue);
  const t0 = performance.now();
  const produce = (async () => {
    for (let sent = 0; sent < bytes; sent += payload.length) await writer.writeFrame(FrameType.DATA, false, payload);
    await writer.writeFrame(FrameType.TRAILER, true, new Uint8Array([0xa0]));
    await queue.end();
  })();
  let got = 0;
  for (;;) {
    const f = await reader.next();
    if (!f || f.type === FrameType.TRAILER) break;
    got += f.payload.length;
  }
  await produce;
  if (got !== Math.ceil(bytes / payload.length) * payload.length) throw new Error(`lost bytes: ${got}`);
  return (performance.now() - t0) / 1000;
}

async function unframed(bytes: number): Promise<number> {
  const queue = new ChunkQueue();
  const buf = new Uint8Array(payload.length);
  const t0 = performance.now();
  const produce = (async () => {
    for (let sent = 0; sent < bytes; sent += payload.length) await queue.write([payload]);
    await queue.end();
  })();
  let got = 0;
  for (let n; (n = await queue.read(buf)) > 0; ) got += n;
  await produce;
  if (got < bytes) throw new Error(`lost bytes: ${got}`);
  return (performance.now() - t0) / 1000;
}

export async function codecFigures(bytes = benchBytes(1)) {
  return [await compareThroughput("encode + decode in memory (unframed queue baseline)", bytes, () => framed(bytes), () => unframed(bytes))];
}

if (import.meta.main) {
  printHeader("Frame encode + decode in memory");
  for (const f of await codecFigures()) printFigure(f);
}
