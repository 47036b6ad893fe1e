/**
 * zrepl's retention grid: `1x1h(keep=all) | 24x1h | 14x1d | 12x30d`.
 *
 * The grid is a row of adjacent intervals going back in time from the newest snapshot (not from the
 * wall clock, so a run after a long pause keeps what it kept before). `NxD` is N intervals of length
 * D; each interval keeps its oldest `keep` snapshots (default 1, or `all`). A snapshot at the very
 * start (the newest one) is always kept, one older than the whole grid never is.
 */
import type { Candidate, GridInterval } from "./types.ts";

const UNIT_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const TERM = /^(\d+)x(\d+)([smhdw])(?:\(keep=(all|\d+)\))?$/;
/** Beyond this many intervals a grid is a typo (24x1h is 24; ten years of hours is 87,600). */
const MAX_INTERVALS = 100_000;

/**
 * Parses a grid spec into its intervals, expanded (`24x1h` → 24 one-hour intervals).
 * @throws SyntaxError naming the bad term and what a term looks like
 * @throws RangeError when interval lengths shrink after an interval that does not keep all
 */
export function parseGrid(spec: string): GridInterval[] {
  const intervals: GridInterval[] = [];
  const terms = spec.split("|").map((t) => t.replace(/\s+/g, ""));
  for (const term of terms) {
    const m = TERM.exec(term);
    if (!m) throw new SyntaxError(`grid term ${JSON.stringify(term)} is not of the form COUNTxDURATION or COUNTxDURATION(keep=N|all), e.g. "24x1h" or "1x1h(keep=all)"; units: s m h d w`);
    const count = Number(m[1]);
    const lengthMs = Number(m[2]) * UNIT_MS[m[3]!]!;
    const keep = m[4] === undefined ? 1 : m[4] === "all" ? "all" : Number(m[4]);
    if (count < 1 || lengthMs < 1) throw new RangeError(`grid term ${JSON.stringify(term)}: count and duration must be at least 1`);
    if (keep === 0) throw new RangeError(`grid term ${JSON.stringify(term)}: keep=0 keeps nothing; write keep=1 or more, or leave the interval out`);
    if (intervals.length + count > MAX_INTERVALS) throw new RangeError(`grid ${JSON.stringify(spec)} has more than ${MAX_INTERVALS} intervals`);
    for (let i = 0; i < count; i++) intervals.push({ lengthMs, keep });
  }
  checkMonotonic(spec, intervals);
  return intervals;
}

/**
 * The snapshots the grid keeps, as a set of names. `now` is the newest candidate's time (zrepl:
 * "the left edge of the first interval is the creation date of the youngest snapshot").
 */
export function gridKeeps(grid: readonly GridInterval[], candidates: readonly Candidate[]): Set<string> {
  const kept = new Set<string>();
  if (candidates.length === 0) return kept;
  const now = Math.max(...candidates.map((c) => c.time));
  const buckets: Candidate[][] = grid.map(() => []);
  for (const c of candidates) {
    if (c.time >= now) {
      kept.add(c.name);
      continue;
    }
    // Interval i covers [start_i, start_{i-1}): its older edge belongs to it, its newer edge does not.
    let start = now;
    for (let i = 0; i < grid.length; i++) {
      start -= grid[i]!.lengthMs;
      if (c.time >= start) {
        buckets[i]!.push(c);
        break;
      }
    }
  }
  grid.forEach((interval, i) => {
    const inBucket = buckets[i]!.sort(byTimeThenName);
    const n = interval.keep === "all" ? inBucket.length : interval.keep;
    for (const c of inBucket.slice(0, n)) kept.add(c.name);
  });
  return kept;
}

// --- internal ---

function byTimeThenName(a: Candidate, b: Candidate): number {
  return a.time - b.time || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** As zrepl: lengths must not shrink, except after intervals that all keep everything. */
function checkMonotonic(spec: string, intervals: readonly GridInterval[]): void {
  let last = 0;
  let allKeepAll = true;
  for (const interval of intervals) {
    if (interval.lengthMs < last && !allKeepAll) {
      throw new RangeError(`grid ${JSON.stringify(spec)}: interval lengths must not shrink from left to right (write the shorter intervals first)`);
    }
    last = interval.lengthMs;
    allKeepAll &&= interval.keep === "all";
  }
}
