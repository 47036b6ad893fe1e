import { describe, expect, test } from "bun:test";
import { formatDuration } from "./_format.ts";
import { formatPlanTable, formatRunPlan, type PlanRow } from "./plan-table.ts";
import type { PlanVersion } from "./plan.ts";
import { failedCount, formatOutcome, formatSummary, type JobResult } from "./summary.ts";

const v = (name: string, guid: bigint, kind: "snapshot" | "bookmark" = "snapshot"): PlanVersion => ({ name, kind, guid, createtxg: guid });

describe("formatSummary", () => {
  const result: JobResult = {
    action: "pull",
    job: "prod",
    dryRun: false,
    elapsedMs: 4_000,
    plan: [],
    outcomes: [
      { name: "tank/a", status: "done", snapshots: 2, bytes: 30 << 20 },
      { name: "tank/b", status: "up_to_date", snapshots: 0, bytes: 0 },
      { name: "tank/c", status: "failed", snapshots: 1, bytes: 10 << 20, reason: "x" },
      { name: "tank/d", status: "skipped", snapshots: 0, bytes: 0, reason: "no snapshots" },
    ],
  };

  test("counts each status and sums the bytes of every filesystem, failed ones included", () => {
    expect(formatSummary(result)).toBe("pull prod: 4 filesystems: 1 done, 1 up to date, 1 skipped, 1 failed; 40.0 MiB in 4.0 s (10.0 MiB/s)");
    expect(failedCount(result)).toBe(1);
  });

  test("a dry run says nothing changed", () => {
    const dry: JobResult = { ...result, dryRun: true, outcomes: [{ name: "tank/a", status: "planned", snapshots: 0, bytes: 0 }] };
    expect(formatSummary(dry)).toBe("pull prod (dry run): 1 filesystem: 1 to replicate, 0 up to date, 0 skipped, 0 refused; nothing was changed");
  });

  test("formatOutcome names the filesystem, snapshots, bytes and rate", () => {
    expect(formatOutcome({ name: "tank/a", status: "done", snapshots: 1, bytes: 2048 }, 2_000)).toBe("done  tank/a  1 snapshot, 2.0 KiB in 2.0 s (1.0 KiB/s)");
  });

  test.each([
    [900, "0.9 s"],
    [75_000, "1m15s"],
    [3_725_000, "1h02m"],
  ])("formatDuration(%p) is %p", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("formatPlanTable", () => {
  test("aligns FILESYSTEM, FROM → TO and SIZE; decisions take the rest of the line", () => {
    const lines = formatPlanTable([
      { name: "tank/data", plan: { kind: "replicate", initial: true, intoPlaceholder: false, steps: [{ kind: "full", to: v("s2", 2n) }] }, estimates: [1536n] },
      {
        name: "tank/data/sub",
        plan: { kind: "replicate", initial: false, intoPlaceholder: false, steps: [{ kind: "incremental", from: v("b1", 1n, "bookmark"), to: v("s2", 2n) }, { kind: "incremental", from: v("s2", 2n), to: v("s3", 3n) }] },
        estimates: [1n, null],
      },
      { name: "tank/old", plan: { kind: "up_to_date", at: v("s3", 3n) } },
      { name: "tank/x", plan: { kind: "diverged", reason: "no common snapshot" } },
    ]);
    expect(lines).toEqual([
      "FILESYSTEM     FROM → TO               SIZE",
      "tank/data      (full) → s2             ~1.5 KiB",
      "tank/data/sub  #b1 → s3 (2 snapshots)  ?",
      "tank/old       up to date at s3",
      "tank/x         diverged: no common snapshot",
    ]);
  });
});

describe("formatRunPlan", () => {
  const upToDate = (name: string): PlanRow => ({ name, plan: { kind: "up_to_date", at: v("s3", 3n) } });
  const changed: PlanRow = { name: "tank/a", plan: { kind: "replicate", initial: false, intoPlaceholder: false, steps: [{ kind: "incremental", from: v("s2", 2n), to: v("s3", 3n) }] }, estimates: [2048n] };
  const skipped: PlanRow = { name: "tank", plan: { kind: "skip", reason: "the source has no snapshots yet" } };

  test.each<[string, PlanRow[], string[]]>([
    [
      "lists what the run does and counts the rest, in a table only as wide as what it lists",
      [skipped, upToDate("tank/a-filesystem-with-a-long-name"), changed, upToDate("tank/c")],
      ["FILESYSTEM  FROM → TO  SIZE", "tank        skip: the source has no snapshots yet", "tank/a      s2 → s3    ~2.0 KiB", "2 more filesystems up to date (--dry-run lists each)"],
    ],
    ["a tree all up to date is one line", [upToDate("tank/b"), upToDate("tank/c")], ["2 filesystems up to date (--dry-run lists each)"]],
    ["one up to date, in the singular", [changed, upToDate("tank/b")], ["FILESYSTEM  FROM → TO  SIZE", "tank/a      s2 → s3    ~2.0 KiB", "1 more filesystem up to date (--dry-run lists each)"]],
    ["nothing up to date: the whole table", [skipped, changed], formatPlanTable([skipped, changed])],
  ])("%s", (_, rows, lines) => {
    expect(formatRunPlan(rows)).toEqual(lines);
  });
});

test("formatSummary and formatOutcome add the wire bytes where compression made them differ", () => {
  const outcome = { name: "tank/a", status: "done" as const, snapshots: 1, bytes: 4 << 20, wireBytes: 1 << 20, elapsedMs: 1_000 };
  expect(formatOutcome(outcome, 1_000)).toBe("done  tank/a  1 snapshot, 4.0 MiB in 1.0 s (4.0 MiB/s), 1.0 MiB on the wire (25%)");
  const result = { action: "pull" as const, job: "j", dryRun: false, plan: [], outcomes: [outcome, { ...outcome, name: "tank/b", wireBytes: 4 << 20 }], elapsedMs: 2_000 };
  expect(formatSummary(result)).toBe("pull j: 2 filesystems: 2 done, 0 up to date, 0 skipped, 0 failed; 8.0 MiB in 2.0 s (4.0 MiB/s), 5.0 MiB on the wire (63%)");
});
