/** Durations in config: seconds as a number, or a string of `<number><unit>` parts such as "1h30m". */

/** Longest duration a timer can hold: setTimeout overflows past 2^31 - 1 ms (about 24.8 days). */
export const MAX_DURATION_MS = 2 ** 31 - 1;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/**
 * Parses `30`, `1.5`, `"30s"`, `"10m"`, `"1h30m"`, `"250ms"` into whole milliseconds.
 * @throws TypeError for a value that is neither a number nor a string
 * @throws SyntaxError for a string that is not a duration
 * @throws RangeError for a duration under 1 ms or over {@link MAX_DURATION_MS}
 */
export function parseDurationMs(value: unknown): number {
  let ms: number;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new RangeError(`invalid duration ${value}: not a finite number of seconds`);
    ms = value * 1000;
  } else if (typeof value === "string") {
    if (!DURATION.test(value)) {
      throw new SyntaxError(`invalid duration ${JSON.stringify(value)}: expected seconds as a number or a string like "30s", "10m", "1h30m"`);
    }
    ms = 0;
    for (const [, amount, unit] of value.matchAll(PART)) ms += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  } else {
    throw new TypeError(`invalid duration: expected seconds as a number or a string like "10m", got ${typeof value}`);
  }
  ms = Math.round(ms);
  if (ms < 1 || ms > MAX_DURATION_MS) {
    throw new RangeError(`invalid duration ${JSON.stringify(value)}: must be between 1ms and ${MAX_DURATION_MS}ms (about 24 days)`);
  }
  return ms;
}
