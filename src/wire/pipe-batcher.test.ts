import { describe, expect, test } from "bun:test";
import { writeSync } from "node:fs";
import { libc, type Libc } from "../sys/libc.ts";
import { closeQuietly, makePipe } from "../sys/pipe.ts";
import { PipeBatcher } from "./pipe-batcher.ts";

const MiB = 1 << 20;

/** A libc whose pipe holds `capacity` bytes and whose FIONREAD answers from `queued`, one per call. */
function stubLibc(capacity: number, queued: number[]): { lib: Libc; naps: number[] } {
  const naps: number[] = [];
  let i = 0;
  const lib = {
    fcntl: () => capacity,
    ioctl: (_fd: number, _req: number, out: Int32Array) => {
      out[0] = queued[Math.min(i++, queued.length - 1)]!;
      return 0;
    },
    usleep: (us: number) => {
      naps.push(us);
      return 0;
    },
  } as unknown as Libc;
  return { lib, naps };
}

describe("PipeBatcher", () => {
  test("batches only on pipes large enough to be worth a nap", () => {
    expect(PipeBatcher.for(stubLibc(-1, [0]).lib, 3)).toBeNull(); // not a pipe
    expect(PipeBatcher.for(stubLibc(64 * 1024, [0]).lib, 3)).toBeNull(); // the default 64 KiB pipe
    expect(PipeBatcher.for(stubLibc(MiB, [0]).lib, 3)?.batchBytes).toBe(MiB / 2);
  });

  test("does not nap when the pipe already holds the batch", () => {
    const { lib, naps } = stubLibc(MiB, [MiB / 2]);
    PipeBatcher.for(lib, 3)!.awaitFill(MiB);
    expect(naps).toEqual([]);
  });

  test("does not nap for more than the caller wants", () => {
    const { lib, naps } = stubLibc(MiB, [4096]);
    PipeBatcher.for(lib, 3)!.awaitFill(4096);
    expect(naps).toEqual([]);
  });

  test("probes the peer's rate in a first nap, then naps as long as that rate needs to fill the batch", () => {
    // 0 → 100 KiB in the 100 µs probe: 1 KiB/µs, so the other 412 KiB take 412 µs
    const { lib, naps } = stubLibc(MiB, [0, 100 * 1024, MiB / 2]);
    expect(PipeBatcher.for(lib, 3)!.awaitFill(MiB)).toBe(true);
    expect(naps).toEqual([100, 412]);
  });

  test("remembers the rate: the next batch costs one nap", () => {
    const { lib, naps } = stubLibc(MiB, [0, 100 * 1024, MiB / 2, 0, MiB / 2]);
    const batcher = PipeBatcher.for(lib, 3)!;
    batcher.awaitFill(MiB);
    expect(batcher.awaitFill(MiB)).toBe(true);
    expect(naps).toEqual([100, 412, 512]); // 512 KiB at 1 KiB/µs
  });

  test("bounds a nap, so a slow peer adds little latency, and reports a peer that moved nothing", () => {
    const { lib, naps } = stubLibc(MiB, [0, 1024]);
    expect(PipeBatcher.for(lib, 3)!.awaitFill(MiB)).toBe(false);
    expect(naps).toEqual([100, 1000]);
  });

  test("stops after the probe when the peer moved nothing (idle) or the batch is in", () => {
    const idle = stubLibc(MiB, [10, 10]);
    expect(PipeBatcher.for(idle.lib, 3)!.awaitFill(MiB)).toBe(false);
    expect(idle.naps).toEqual([100]);
    const fast = stubLibc(MiB, [10, MiB]);
    expect(PipeBatcher.for(fast.lib, 3)!.awaitFill(MiB)).toBe(true);
    expect(fast.naps).toEqual([100]);
  });

  test("naps at most three times per batch", () => {
    const { lib, naps } = stubLibc(MiB, [0, 1000, 2000, 3000, 4000, 5000]);
    expect(PipeBatcher.for(lib, 3)!.awaitFill(MiB)).toBe(true);
    expect(naps).toHaveLength(3);
  });

  test("awaitRoom waits for free space: capacity minus what is queued", () => {
    // full, then 900 KiB queued after the probe: 124 KiB free at ~1.24 KiB/µs, 388 KiB more in ~313 µs
    const { lib, naps } = stubLibc(MiB, [MiB, 900 * 1024, MiB / 2]);
    expect(PipeBatcher.for(lib, 3)!.awaitRoom(MiB)).toBe(true);
    expect(naps).toEqual([100, 313]);
  });

  test("FIONREAD on a real pipe counts queued bytes from either end", () => {
    const lib = libc();
    if (!lib) return; // not Linux: no batching, nothing to check
    const pipe = makePipe();
    try {
      const batcher = PipeBatcher.for(lib, pipe.writeFd)!;
      expect(batcher).not.toBeNull();
      writeSync(pipe.writeFd, new Uint8Array(5000));
      expect(batcher.queued()).toBe(5000);
      expect(PipeBatcher.for(lib, pipe.readFd)!.queued()).toBe(5000);
    } finally {
      closeQuietly(pipe.readFd);
      closeQuietly(pipe.writeFd);
    }
  });
});
