import { describe, expect, test } from "bun:test";
import { gridKeeps, parseGrid } from "./grid.ts";
import { formatSnapshotName } from "./snapshot-name.ts";
import type { Candidate } from "./types.ts";

const H = 3_600_000;
const D = 24 * H;

/** Candidates named as zferry names them, from UTC ISO times. */
function snaps(times: readonly (string | number)[]): Candidate[] {
  return times.map((t) => {
    const time = typeof t === "number" ? t : Date.parse(t);
    return { name: formatSnapshotName("zferry_", time), time, replicated: true };
  });
}

/** The ISO times (without milliseconds) of the kept candidates, oldest first. */
function kept(spec: string, candidates: readonly Candidate[]): string[] {
  const set = gridKeeps(parseGrid(spec), candidates);
  return candidates.filter((c) => set.has(c.name)).map((c) => new Date(c.time).toISOString().replace(".000", "")).sort();
}

function every(startIso: string, stepMs: number, count: number): number[] {
  const start = Date.parse(startIso);
  return Array.from({ length: count }, (_, i) => start + i * stepMs);
}

describe("parseGrid", () => {
  test("expands NxD into N intervals and reads keep", () => {
    const grid = parseGrid("1x1h(keep=all) | 24x1h | 14x1d | 2x30d(keep=3)");
    expect(grid.length).toBe(1 + 24 + 14 + 2);
    expect(grid[0]).toEqual({ lengthMs: H, keep: "all" });
    expect(grid[1]).toEqual({ lengthMs: H, keep: 1 });
    expect(grid[25]).toEqual({ lengthMs: D, keep: 1 });
    expect(grid[40]).toEqual({ lengthMs: 30 * D, keep: 3 });
  });

  test.each(["1x90s|1x2m|1x1w", "1x1h(keep=all)|1x10m", " 24 x 1h | 7x1d "])("accepts %p", (spec) => {
    expect(() => parseGrid(spec)).not.toThrow();
  });

  test.each([
    ["", SyntaxError, 'grid term "" is not of the form'],
    ["24x1y", SyntaxError, 'grid term "24x1y"'],
    ["x1h", SyntaxError, 'grid term "x1h"'],
    ["24x1h |", SyntaxError, 'grid term ""'],
    ["1x1h(keep=-1)", SyntaxError, 'grid term "1x1h(keep=-1)"'],
    ["0x1h", RangeError, "count and duration must be at least 1"],
    ["1x0h", RangeError, "count and duration must be at least 1"],
    ["1x1h(keep=0)", RangeError, "keep=0 keeps nothing"],
    ["1x1d | 1x1h", RangeError, "interval lengths must not shrink"],
    ["1x1h(keep=all) | 1x1d | 1x1h", RangeError, "interval lengths must not shrink"],
    ["100001x1s", RangeError, "more than 100000 intervals"],
  ] as const)("rejects %p with %p", (spec, cls, message) => {
    expect(() => parseGrid(spec)).toThrow(cls);
    expect(() => parseGrid(spec)).toThrow(message);
  });
});

describe("gridKeeps", () => {
  test("no candidates keep nothing", () => {
    expect(gridKeeps(parseGrid("24x1h"), [])).toEqual(new Set());
  });

  test("the newest is always kept, an interval keeps its oldest, anything older than the grid goes", () => {
    const all = snaps(every("2026-12-01T00:00:00Z", 15 * 60_000, 13)); // 00:00 … 03:00 every 15 min
    expect(kept("2x1h", all)).toEqual(["2026-12-01T01:00:00Z", "2026-12-01T02:00:00Z", "2026-12-01T03:00:00Z"]);
  });

  test("an interval owns its older edge, not its newer one", () => {
    const now = Date.parse("2026-12-01T12:00:00Z");
    const all = snaps([now, now - H, now - H - 1000, now - 2 * H, now - 2 * H - 1000]);
    expect(kept("2x1h", all)).toEqual(["2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z", "2026-12-01T12:00:00Z"]);
  });

  test("keep=all keeps every snapshot of its interval, keep=N the oldest N", () => {
    const all = snaps(every("2026-12-01T00:00:00Z", 10 * 60_000, 13)); // 00:00 … 02:00
    expect(kept("1x1h(keep=all) | 1x1h(keep=2)", all)).toEqual([
      "2026-12-01T00:00:00Z",
      "2026-12-01T00:10:00Z",
      "2026-12-01T01:00:00Z",
      "2026-12-01T01:10:00Z",
      "2026-12-01T01:20:00Z",
      "2026-12-01T01:30:00Z",
      "2026-12-01T01:40:00Z",
      "2026-12-01T01:50:00Z",
      "2026-12-01T02:00:00Z",
    ]);
  });

  test("hourly snapshots under 1x1h(keep=all) | 24x1h: the newest 26 stay", () => {
    const all = snaps(every("2026-11-28T00:00:00Z", H, 72));
    const result = kept("1x1h(keep=all) | 24x1h", all);
    expect(result.length).toBe(26);
    expect(result[0]).toBe("2026-11-29T22:00:00Z"); // newest (11-30T23:00) − 25 h
    expect(result.at(-1)).toBe("2026-11-30T23:00:00Z");
  });

  test("UTC edges: across the end of a year, to the second", () => {
    const all = snaps(["2026-12-30T22:59:59Z", "2026-12-30T23:00:00Z", "2026-12-31T22:59:59Z", "2026-12-31T23:00:00Z", "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z"]);
    expect(kept("1x1h(keep=all) | 1x1d", all)).toEqual(["2026-12-30T23:00:00Z", "2026-12-31T23:00:00Z", "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z"]);
  });

  // 30-day intervals do not follow months: counted back from March 31st they end on January 30th
  // after a 28-day February and on January 31st after a 29-day one.
  test.each([
    ["2026 (February has 28 days)", 2026, ["2026-01-01T00:00:00Z", "2026-01-30T00:00:00Z", "2026-03-01T00:00:00Z", "2026-03-31T00:00:00Z"]],
    ["2028 (February has 29 days)", 2028, ["2028-01-01T00:00:00Z", "2028-01-31T00:00:00Z", "2028-03-01T00:00:00Z", "2028-03-31T00:00:00Z"]],
  ] as const)("daily snapshots January to March under 3x30d, %s", (_label, year, expected) => {
    const start = Date.UTC(year, 0, 1);
    const days = (Date.UTC(year, 2, 31) - start) / D + 1;
    expect(kept("3x30d", snaps(every(new Date(start).toISOString(), D, days)))).toEqual([...expected]);
  });

  test("a run after a long gap without new snapshots keeps what it kept: the grid starts at the newest snapshot, not at the clock", () => {
    const all = snaps(every("2026-06-01T00:00:00Z", H, 48));
    const before = kept("1x1h(keep=all) | 6x1h | 1x1d", all);
    expect(before.length).toBe(9); // the newest, 22:00 (keep=all), six hours, one day
    // Nothing in the rules reads a clock; the same snapshots give the same answer months later.
    expect(kept("1x1h(keep=all) | 6x1h | 1x1d", all)).toEqual(before);
  });

  test("a run after a long gap with one new snapshot: everything older than the grid goes", () => {
    const all = snaps([...every("2026-06-01T00:00:00Z", H, 48), Date.parse("2026-09-01T00:00:00Z")]);
    expect(kept("1x1h(keep=all) | 6x1h | 1x1d", all)).toEqual(["2026-09-01T00:00:00Z"]);
    expect(kept("1x1h(keep=all) | 6x1h | 1x1d | 12x30d", all)).toEqual(["2026-06-01T00:00:00Z", "2026-06-01T17:00:00Z", "2026-09-01T00:00:00Z"]); // 30-day edges at 06-01T17:00
  });

  test("the order of the input does not matter", () => {
    const all = snaps(every("2026-12-01T00:00:00Z", 15 * 60_000, 13));
    const reversed = [...all].reverse();
    expect(gridKeeps(parseGrid("2x1h"), reversed)).toEqual(gridKeeps(parseGrid("2x1h"), all));
  });
});
