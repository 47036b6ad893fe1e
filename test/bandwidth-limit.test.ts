/**
 * bandwidth_limit through the real data path (the send pump in its Worker, splice and copy): 8 MiB
 * at 4 MiB/s, the wire bytes sampled every 100 ms with their real timestamps. Over any 1 s window
 * (once running) the rate stays within ±10 % of the limit, and no 100 ms window carries more than
 * twice the limit's share. Bounds are on measured times, so a loaded machine's late timers widen
 * the windows, not the error.
 */
import { afterEach, expect, test } from "bun:test";
import { closeQuietly, makePipe } from "../src/sys/pipe.ts";
import { startSendPump } from "../src/wire/index.ts";

const WRITER = `${import.meta.dir}/fixtures/pattern-writer.ts`;
const LIMIT = 4 * 1024 * 1024;
const BYTES = 8 * 1024 * 1024;
const saved = process.env.ZFERRY_COPY;
afterEach(() => {
  if (saved === undefined) delete process.env.ZFERRY_COPY;
  else process.env.ZFERRY_COPY = saved;
});

async function pacedRun(mode: "splice" | "copy"): Promise<{ samples: { t: number; bytes: number }[]; wire: number; elapsedMs: number }> {
  process.env.ZFERRY_COPY = mode === "copy" ? "1" : "0";
  const src = makePipe();
  const out = makePipe();
  await using writer = Bun.spawn([process.execPath, WRITER, "4", String(BYTES), "0"], { stdout: src.writeFd });
  closeQuietly(src.writeFd);
  await using sink = Bun.spawn(["wc", "-c"], { stdin: out.readFd, stdout: "pipe" });
  closeQuietly(out.readFd);
  const counted = sink.stdout.text();
  const started = performance.now();
  const handle = startSendPump(src.readFd, out.writeFd, { rateBytes: LIMIT });
  const samples = [{ t: started, bytes: 0 }];
  const timer = setInterval(() => samples.push({ t: performance.now(), bytes: handle.bytes() }), 100);
  const result = await handle.result;
  clearInterval(timer);
  const elapsedMs = performance.now() - started;
  closeQuietly(out.writeFd);
  closeQuietly(src.readFd);
  expect(result.bytes).toBe(BYTES);
  expect(await writer.exited).toBe(0);
  return { samples, wire: Number((await counted).trim()), elapsedMs };
}

for (const mode of ["splice", "copy"] as const) {
  test(`a ${mode} send paced to 4 MiB/s stays within ±10 % over every 1 s window and under 2x over 100 ms`, async () => {
    const { samples, wire, elapsedMs } = await pacedRun(mode);
    expect(wire).toBeGreaterThan(BYTES); // payload and frame headers all arrived
    // 8 MiB at 4 MiB/s: 2 s, less the one frame of credit it starts with.
    expect(elapsedMs).toBeGreaterThan(1_900);
    expect(elapsedMs).toBeLessThan(2_600);
    const running = samples.filter((s) => s.t - samples[0]!.t >= 100 && s.bytes < BYTES);
    const oneSecond: number[] = [];
    const bursts: number[] = [];
    for (const [i, a] of running.entries()) {
      const b = running[i + 1];
      if (b && b.t > a.t) bursts.push((b.bytes - a.bytes) / ((b.t - a.t) / 1000) / LIMIT);
      const later = running.find((s) => s.t - a.t >= 1_000);
      if (later) oneSecond.push((later.bytes - a.bytes) / ((later.t - a.t) / 1000) / LIMIT);
    }
    expect(oneSecond.length).toBeGreaterThan(3);
    expect({ min: Math.min(...oneSecond) >= 0.9, max: Math.max(...oneSecond) <= 1.1 }).toEqual({ min: true, max: true });
    expect(Math.max(...bursts)).toBeLessThanOrEqual(2);
  }, 30_000);
}
