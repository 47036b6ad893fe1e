/**
 * One run of a job as textfile samples, merged into what the file held before: the samples of
 * other jobs stay as they were, this job's are replaced, and its counters and last-success times
 * continue from their previous values. Pure: the file and the clock are the caller's.
 */
import type { FilesystemOutcome } from "../summary.ts";
import type { FilesystemMetricName, JobMetricName } from "./catalog.ts";
import type { Sample } from "./exposition.ts";

/** A finished run (not a dry run), as the metrics see it. */
export interface RunRecord {
  readonly job: string;
  /** When it ended, in Unix seconds. */
  readonly endedAt: number;
  readonly durationSeconds: number;
  /** Each filesystem's outcome; null when the job could not run at all (no connection, no root). */
  readonly outcomes: readonly FilesystemOutcome[] | null;
}

/**
 * The file's samples after `run`: `previous` without this job's, plus this job's new ones.
 * A filesystem the run did not report (it left the job, or the job could not run) keeps no
 * series, except when the job could not run: then its filesystems keep theirs unchanged, since
 * nothing is known about them.
 */
export function mergeJobRun(previous: readonly Sample[], run: RunRecord): Sample[] {
  const others = previous.filter((s) => s.labels.job !== run.job);
  const mine = previous.filter((s) => s.labels.job === run.job);
  return [...others, ...jobSamples(mine, run), ...(run.outcomes === null ? mine.filter((s) => s.labels.filesystem !== undefined) : run.outcomes.flatMap((o) => filesystemSamples(mine, run, o)))];
}

// --- internal ---

function jobSamples(mine: readonly Sample[], run: RunRecord): Sample[] {
  const labels = { job: run.job };
  const own = mine.filter((s) => s.labels.filesystem === undefined);
  const before = (name: JobMetricName) => own.find((s) => s.name === name)?.value;
  const outcomes = run.outcomes ?? [];
  const ok = run.outcomes !== null && !outcomes.some((o) => o.status === "failed");
  const lastSuccess = ok ? run.endedAt : before("zferry_job_last_success_timestamp_seconds");
  const values: [JobMetricName, number | undefined][] = [
    ["zferry_job_last_attempt_timestamp_seconds", run.endedAt],
    ["zferry_job_last_success_timestamp_seconds", lastSuccess],
    ["zferry_job_last_run_success", ok ? 1 : 0],
    ["zferry_job_last_duration_seconds", run.durationSeconds],
    ["zferry_job_runs_total", (before("zferry_job_runs_total") ?? 0) + 1],
    ["zferry_job_failed_runs_total", (before("zferry_job_failed_runs_total") ?? 0) + (ok ? 0 : 1)],
    ["zferry_job_bytes_total", (before("zferry_job_bytes_total") ?? 0) + sum(outcomes, (o) => o.bytes)],
    ["zferry_job_wire_bytes_total", (before("zferry_job_wire_bytes_total") ?? 0) + sum(outcomes, (o) => o.wireBytes ?? o.bytes)],
    ["zferry_job_snapshots_total", (before("zferry_job_snapshots_total") ?? 0) + sum(outcomes, (o) => o.snapshots)],
  ];
  return samplesOf(values, labels);
}

function filesystemSamples(mine: readonly Sample[], run: RunRecord, outcome: FilesystemOutcome): Sample[] {
  const labels = { job: run.job, filesystem: outcome.name };
  const own = mine.filter((s) => s.labels.filesystem === outcome.name);
  const before = (name: FilesystemMetricName) => own.find((s) => s.name === name)?.value;
  const ok = outcome.status !== "failed";
  const values: [FilesystemMetricName, number | undefined][] = [
    ["zferry_filesystem_last_attempt_timestamp_seconds", run.endedAt],
    ["zferry_filesystem_last_success_timestamp_seconds", ok ? run.endedAt : before("zferry_filesystem_last_success_timestamp_seconds")],
    ["zferry_filesystem_last_run_success", ok ? 1 : 0],
    ["zferry_filesystem_last_duration_seconds", Math.round(outcome.elapsedMs ?? 0) / 1000],
    ["zferry_filesystem_bytes_total", (before("zferry_filesystem_bytes_total") ?? 0) + outcome.bytes],
    ["zferry_filesystem_wire_bytes_total", (before("zferry_filesystem_wire_bytes_total") ?? 0) + (outcome.wireBytes ?? outcome.bytes)],
    ["zferry_filesystem_snapshots_total", (before("zferry_filesystem_snapshots_total") ?? 0) + outcome.snapshots],
    ["zferry_filesystem_failures_total", (before("zferry_filesystem_failures_total") ?? 0) + (ok ? 0 : 1)],
  ];
  return samplesOf(values, labels);
}

/** A value left undefined (no success yet) has no sample: absent, not 0, so "never" is not 1970. */
function samplesOf(values: readonly [string, number | undefined][], labels: Readonly<Record<string, string>>): Sample[] {
  return values.flatMap(([name, value]) => (value === undefined ? [] : [{ name, labels, value }]));
}

function sum(outcomes: readonly FilesystemOutcome[], of: (o: FilesystemOutcome) => number): number {
  return outcomes.reduce((total, o) => total + of(o), 0);
}
