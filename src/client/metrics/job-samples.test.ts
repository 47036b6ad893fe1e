import { describe, expect, test } from "bun:test";
import type { Sample } from "./exposition.ts";
import { mergeJobRun, type RunRecord } from "./job-samples.ts";

const T1 = 1_764_660_000;
const T2 = T1 + 3600;

const done = (name: string, bytes: number, snapshots: number, elapsedMs = 2_000) => ({ name, status: "done" as const, bytes, snapshots, elapsedMs });

/** This job's samples as `name{filesystem} → value`, for a readable toEqual. */
function table(samples: readonly Sample[], job: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples.filter((s) => s.labels.job === job)) out[`${s.name}${s.labels.filesystem ? `{${s.labels.filesystem}}` : ""}`] = s.value;
  return out;
}

const FIRST: RunRecord = { job: "prod", endedAt: T1, durationSeconds: 4.5, outcomes: [{ ...done("tank/a", 1000, 2), wireBytes: 400 }, { name: "tank/b", status: "up_to_date", bytes: 0, snapshots: 0 }] };

describe("mergeJobRun", () => {
  test("a first successful run: every series, counters from zero (wire bytes beside stream bytes)", () => {
    expect(table(mergeJobRun([], FIRST), "prod")).toEqual({
      zferry_job_last_attempt_timestamp_seconds: T1,
      zferry_job_last_success_timestamp_seconds: T1,
      zferry_job_last_run_success: 1,
      zferry_job_last_duration_seconds: 4.5,
      zferry_job_runs_total: 1,
      zferry_job_failed_runs_total: 0,
      zferry_job_bytes_total: 1000,
      zferry_job_wire_bytes_total: 400,
      zferry_job_snapshots_total: 2,
      "zferry_filesystem_last_attempt_timestamp_seconds{tank/a}": T1,
      "zferry_filesystem_last_success_timestamp_seconds{tank/a}": T1,
      "zferry_filesystem_last_run_success{tank/a}": 1,
      "zferry_filesystem_last_duration_seconds{tank/a}": 2,
      "zferry_filesystem_bytes_total{tank/a}": 1000,
      "zferry_filesystem_wire_bytes_total{tank/a}": 400,
      "zferry_filesystem_snapshots_total{tank/a}": 2,
      "zferry_filesystem_failures_total{tank/a}": 0,
      "zferry_filesystem_last_attempt_timestamp_seconds{tank/b}": T1,
      "zferry_filesystem_last_success_timestamp_seconds{tank/b}": T1,
      "zferry_filesystem_last_run_success{tank/b}": 1,
      "zferry_filesystem_last_duration_seconds{tank/b}": 0,
      "zferry_filesystem_bytes_total{tank/b}": 0,
      "zferry_filesystem_wire_bytes_total{tank/b}": 0,
      "zferry_filesystem_snapshots_total{tank/b}": 0,
      "zferry_filesystem_failures_total{tank/b}": 0,
    });
  });

  test("a run with a failed filesystem: counters go on, the last success times stay where they were", () => {
    const second: RunRecord = { job: "prod", endedAt: T2, durationSeconds: 1, outcomes: [{ ...done("tank/a", 300, 0, 500), status: "failed", reason: "broke" }, done("tank/b", 50, 1)] };
    const t = table(mergeJobRun(mergeJobRun([], FIRST), second), "prod");
    expect(t).toMatchObject({
      zferry_job_last_attempt_timestamp_seconds: T2,
      zferry_job_last_success_timestamp_seconds: T1,
      zferry_job_last_run_success: 0,
      zferry_job_runs_total: 2,
      zferry_job_failed_runs_total: 1,
      zferry_job_bytes_total: 1350,
      zferry_job_snapshots_total: 3,
      "zferry_filesystem_last_success_timestamp_seconds{tank/a}": T1,
      "zferry_filesystem_last_run_success{tank/a}": 0,
      "zferry_filesystem_last_duration_seconds{tank/a}": 0.5,
      "zferry_filesystem_bytes_total{tank/a}": 1300,
      "zferry_filesystem_failures_total{tank/a}": 1,
      "zferry_filesystem_last_success_timestamp_seconds{tank/b}": T2,
      "zferry_filesystem_snapshots_total{tank/b}": 1,
    });
  });

  test("a job that never succeeded has no last-success sample (absent, not 1970)", () => {
    const failed: RunRecord = { job: "prod", endedAt: T1, durationSeconds: 1, outcomes: [{ name: "tank/a", status: "failed", bytes: 0, snapshots: 0 }] };
    const t = table(mergeJobRun([], failed), "prod");
    expect(Object.keys(t).filter((k) => k.includes("last_success"))).toEqual([]);
    expect(t.zferry_job_failed_runs_total).toBe(1);
  });

  test("a job that could not run: its job series record the failure, its filesystems' stay unchanged", () => {
    const before = mergeJobRun([], FIRST);
    const after = mergeJobRun(before, { job: "prod", endedAt: T2, durationSeconds: 0.2, outcomes: null });
    const t = table(after, "prod");
    expect(t).toMatchObject({ zferry_job_last_attempt_timestamp_seconds: T2, zferry_job_last_success_timestamp_seconds: T1, zferry_job_last_run_success: 0, zferry_job_runs_total: 2, zferry_job_failed_runs_total: 1, zferry_job_bytes_total: 1000 });
    const fs = (samples: readonly Sample[]) => samples.filter((s) => s.labels.filesystem !== undefined);
    expect(fs(after)).toEqual(fs(before));
  });

  test("other jobs' samples stay exactly as they were; a filesystem that left the job loses its series", () => {
    const other = mergeJobRun([], { ...FIRST, job: "offsite" });
    const merged = mergeJobRun(mergeJobRun(other, FIRST), { job: "prod", endedAt: T2, durationSeconds: 1, outcomes: [done("tank/a", 1, 1)] });
    expect(merged.filter((s) => s.labels.job === "offsite")).toEqual(other);
    expect(merged.some((s) => s.labels.job === "prod" && s.labels.filesystem === "tank/b")).toBe(false);
  });
});
