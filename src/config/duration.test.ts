import { expect, test } from "bun:test";
import { MAX_DURATION_MS, parseDurationMs } from "./duration.ts";

test.each([
  [30, 30_000],
  [0.25, 250],
  ["30s", 30_000],
  ["10m", 600_000],
  ["1h30m", 5_400_000],
  ["1.5h", 5_400_000],
  ["250ms", 250],
  ["1d", 86_400_000],
  ["1m1ms", 60_001],
  [MAX_DURATION_MS / 1000, MAX_DURATION_MS],
] as const)("parseDurationMs(%j) is %d ms", (input, ms) => {
  expect(parseDurationMs(input)).toBe(ms);
});

test.each([
  ["", SyntaxError],
  ["10", SyntaxError],
  ["10 m", SyntaxError],
  ["-5s", SyntaxError],
  ["1w", SyntaxError],
  ["m", SyntaxError],
  ["1e3s", SyntaxError],
  [0, RangeError],
  [-1, RangeError],
  [0.0001, RangeError],
  ["0s", RangeError],
  ["25d", RangeError],
  [Number.NaN, RangeError],
  [true, TypeError],
  [null, TypeError],
] as const)("parseDurationMs(%j) throws %p", (input, errorClass) => {
  expect(() => parseDurationMs(input)).toThrow(errorClass);
});
