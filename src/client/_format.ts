/** Human-readable sizes, rates and durations for the client's output (binary units, as zfs prints). */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const;

/** `1536` → `"1.5 KiB"`; bytes below 1 KiB exact. */
export function formatBytes(bytes: number | bigint): string {
  let n = Number(bytes);
  let unit = 0;
  while (n >= 1024 && unit < UNITS.length - 1) {
    n /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${n.toFixed(n >= 100 ? 0 : 1)} ${UNITS[unit]}`;
}

/** Bytes per second over `ms`; "-" when no time has passed. */
export function formatRate(bytes: number, ms: number): string {
  if (ms <= 0) return "-";
  return `${formatBytes(Math.round((bytes * 1000) / ms))}/s`;
}

/** `1234` → `"1.2 s"`, `75_000` → `"1m15s"`, `3_725_000` → `"1h02m"`. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
