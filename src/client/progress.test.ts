import { describe, expect, test } from "bun:test";
import { createProgress, isProgressTerminal, renderProgress, useColor, PROGRESS_INTERVAL_MS } from "./progress.ts";

/** A fake clock, a captured timer and a transcript of what was written. */
function harness() {
  let t = 1_000;
  let tick: (() => void) | null = null;
  let stopped = 0;
  const written: string[] = [];
  const progress = createProgress({
    write: (text) => void written.push(text),
    now: () => t,
    schedule: (fn, ms) => {
      expect(ms).toBe(PROGRESS_INTERVAL_MS);
      tick = fn;
      return () => void stopped++;
    },
    columns: 80,
  });
  return { progress, written, advance: (ms: number) => void (t += ms), fire: () => tick!(), stopped: () => stopped };
}

describe("createProgress", () => {
  test("redraws one line with \\r on each tick and clears it on stop", () => {
    const h = harness();
    let bytes = 0;
    const line = h.progress.start({ label: "tank/a@s1 → s2", estimate: 40n << 20n, probe: { bytes: () => bytes } });
    bytes = 12 << 20;
    h.advance(2_000);
    h.fire();
    bytes = 20 << 20;
    h.advance(2_000);
    h.fire();
    line.stop();
    expect(h.written).toEqual([
      "\rtank/a@s1 → s2  12.0 MiB / 40.0 MiB (30%)  6.0 MiB/s  ETA 4.7 s\x1b[K",
      "\rtank/a@s1 → s2  20.0 MiB / 40.0 MiB (50%)  5.0 MiB/s  ETA 4.0 s\x1b[K",
      "\r\x1b[K",
    ]);
    expect(h.stopped()).toBe(1);
  });

  test("a transfer that ends before the first tick writes nothing", () => {
    const h = harness();
    h.progress.start({ label: "x", estimate: null, probe: { bytes: () => 0 } }).stop();
    expect(h.written).toEqual([]);
  });

  test("a long line is cut to the terminal width", () => {
    const h = harness();
    h.progress.start({ label: "t/".repeat(60), estimate: null, probe: { bytes: () => 0 } }).tick();
    expect(h.written[0]!.length).toBe("\r".length + 79 + "\x1b[K".length);
    expect(h.written[0]).toContain("…");
  });
});

describe("renderProgress", () => {
  test.each<[string, bigint | null, number, number, string]>([
    ["no estimate (zfs-fuse): bytes and rate, no ETA", null, 3 << 20, 1_500, "a  3.0 MiB  2.0 MiB/s"],
    ["estimate exceeded: 100 % and ETA 0", 1024n, 4096, 1_000, "a  4.0 KiB / 1.0 KiB (100%)  4.0 KiB/s  ETA 0.0 s"],
    ["nothing moved yet: no ETA", 1024n, 0, 0, "a  0 B / 1.0 KiB (0%)  -"],
    ["a zero estimate is no estimate", 0n, 10, 1_000, "a  10 B  10 B/s"],
    ["gibibytes", null, 3 * 2 ** 30, 2_000, "a  3.0 GiB  1.5 GiB/s"],
  ])("%s", (_name, estimate, bytes, elapsed, expected) => {
    expect(renderProgress({ label: "a", estimate, probe: { bytes: () => bytes } }, elapsed)).toBe(expected);
  });
});

describe("terminal checks", () => {
  test.each<[boolean, Record<string, string>, boolean, boolean]>([
    [true, {}, true, true],
    [false, {}, false, false],
    [true, { NO_COLOR: "" }, true, false],
    [true, { TERM: "dumb" }, false, false],
    [true, { CI: "true" }, true, false],
  ])("tty=%p env=%j: progress %p, colour %p", (tty, env, progress, color) => {
    expect([isProgressTerminal(tty, env), useColor(tty, env)]).toEqual([progress, color]);
  });
});

test("renderProgress with compression: stream bytes drive the percentage and ETA, the wire's follow", () => {
  const line = renderProgress({ label: "tank/a@s1", estimate: 40n << 20n, probe: { bytes: () => 3 << 20 }, stream: () => 12 << 20 }, 2_000);
  expect(line).toBe("tank/a@s1  12.0 MiB / 40.0 MiB (30%)  6.0 MiB/s  wire 3.0 MiB (25%)  ETA 4.7 s");
});
