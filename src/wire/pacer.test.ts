import { expect, test } from "bun:test";
import { Pacer, paceFrameBytes } from "./pacer.ts";

/** A fake clock that sleeping advances. */
function fakeClock() {
  const clock = { t: 0, now: () => clock.t, sleep: (ms: number) => void (clock.t += ms) };
  return clock;
}

test("Pacer holds a steady sender to the rate: 40 frames of 20 KiB at 1 MiB/s take 0.78 s", () => {
  const clock = fakeClock();
  const pacer = new Pacer(1024 * 1024, { burstBytes: 20 * 1024, ...clock });
  for (let i = 0; i < 40; i++) pacer.take(20 * 1024);
  // The first frame leaves at once; the 40th when 39 frames' worth of time has passed.
  expect(clock.t).toBeCloseTo((39 * 20 * 1024 * 1000) / (1024 * 1024), 6);
});

test("Pacer gives a sender that was idle one burst of credit, not the whole pause", () => {
  const clock = fakeClock();
  const pacer = new Pacer(100_000, { burstBytes: 10_000, ...clock });
  pacer.take(10_000);
  clock.t += 5_000; // idle 5 s
  const before = clock.t;
  for (let i = 0; i < 11; i++) pacer.take(10_000);
  // One frame from credit and one at the start, then 100 ms per frame.
  expect(clock.t - before).toBeCloseTo(900, 6);
});

test("Pacer.take returns false once aborted, without sleeping out the wait", () => {
  const clock = fakeClock();
  const pacer = new Pacer(100_000, { burstBytes: 1, ...clock });
  pacer.take(1_000_000);
  expect(pacer.take(1, () => true)).toBe(false);
  expect(clock.t).toBe(0);
});

test.each([
  [4 * 1024 * 1024, 1 << 20, 83_886],
  [64 * 1024, 1 << 20, 16 * 1024],
  [1024 ** 3, 1 << 20, 1 << 20],
  [64 * 1024, 4096, 4096],
])("paceFrameBytes(%d B/s, frames of %d) = %d", (rate, frame, expected) => {
  expect(paceFrameBytes(rate, frame)).toBe(expected);
});
