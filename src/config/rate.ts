/** Rates in config: `"50MiB/s"`, `"800KB/s"`, `"1.5GiB/s"`; a plain number is bytes per second. */

const UNIT_BYTES = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 } as const;
const RATE = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)\/s$/;
/** Below this, pacing in quanta of a few KiB would be coarse; no WAN link is that slow. */
export const MIN_RATE_BYTES = 64 * 1024;

/**
 * Parses a rate into whole bytes per second.
 * @throws TypeError for a value that is neither a number nor a string
 * @throws SyntaxError for a string that is not a rate
 * @throws RangeError for a rate under MIN_RATE_BYTES per second
 */
export function parseRateBytes(value: unknown): number {
  let bytes: number;
  if (typeof value === "number") bytes = value;
  else if (typeof value === "string") {
    const m = RATE.exec(value);
    if (!m) throw new SyntaxError(`invalid rate ${JSON.stringify(value)}: expected a string like "50MiB/s" or "800KB/s" (units B, KB, MB, GB, KiB, MiB, GiB)`);
    bytes = Number(m[1]) * UNIT_BYTES[m[2] as keyof typeof UNIT_BYTES];
  } else {
    throw new TypeError(`invalid rate: expected a string like "50MiB/s", got ${typeof value}`);
  }
  if (!Number.isFinite(bytes) || Math.round(bytes) < MIN_RATE_BYTES) throw new RangeError(`invalid rate ${JSON.stringify(value)}: must be at least 64KiB/s`);
  return Math.round(bytes);
}
