/**
 * zferry's snapshot names: `<prefix><yyyymmddThhmmssZ>` in UTC, e.g. `zferry_20261201T103000Z`.
 * One format, sortable as text, read back to the second; no local time, so no DST gaps or repeats.
 */

const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** `formatSnapshotName("zferry_", Date.UTC(2026, 11, 1, 10, 30))` → `"zferry_20261201T103000Z"`. */
export function formatSnapshotName(prefix: string, timeMs: number): string {
  const d = new Date(timeMs);
  if (Number.isNaN(d.getTime())) throw new RangeError(`Cannot name a snapshot: time ${timeMs} is not a valid date`);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const stamp = `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return `${prefix}${stamp}`;
}

/** The time in a name made by `formatSnapshotName` with `prefix`, or undefined for any other name. */
export function parseSnapshotTime(prefix: string, name: string): number | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const m = STAMP.exec(name.slice(prefix.length));
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  // Date.UTC rolls 20260230 over into March; a name that does not round-trip is not ours.
  return formatSnapshotName(prefix, t) === name ? t : undefined;
}
