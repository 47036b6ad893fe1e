/**
 * What a pull or push did, per filesystem and in total, and the one summary line printed at the
 * end of every run: `pull prod: 4 filesystems: 2 done, 1 up to date, 0 skipped, 1 failed; 40.0 MiB in 3.2 s (12.5 MiB/s)`.
 */
import { formatBytes, formatDuration, formatRate } from "./_format.ts";
import type { PlanRow } from "./plan-table.ts";

/**
 * - done: new snapshots arrived; up_to_date: nothing was missing; skipped: nothing to send that is
 *   not an error (the source has no snapshots); planned: a dry run would have sent something;
 *   failed: diverged, refused, or the transfer broke.
 */
export type FilesystemStatus = "done" | "up_to_date" | "skipped" | "planned" | "failed";

export interface FilesystemOutcome {
  /** The filesystem's name on the sending side. */
  readonly name: string;
  readonly status: FilesystemStatus;
  /** Snapshots received. */
  readonly snapshots: number;
  /** Stream bytes moved (counted in our frames, or by the compressor). */
  readonly bytes: number;
  /** Bytes on the wire, where they differ from the stream's (compression); absent otherwise. */
  readonly wireBytes?: number;
  /** Request ids of its transfer calls, in order (the server logs each as `request=`). */
  readonly requests?: readonly string[];
  /** Why it failed or was skipped. */
  readonly reason?: string;
  /** How long its transfer took; absent when none was attempted (up to date, skipped, refused). */
  readonly elapsedMs?: number;
}

export interface JobResult {
  readonly action: "pull" | "push";
  readonly job: string;
  readonly dryRun: boolean;
  /** What was planned per filesystem, in order (the plan table's rows). */
  readonly plan: readonly PlanRow[];
  readonly outcomes: readonly FilesystemOutcome[];
  readonly elapsedMs: number;
}

/** Failed filesystems; a run succeeded when this is 0. */
export function failedCount(result: JobResult): number {
  return result.outcomes.filter((o) => o.status === "failed").length;
}

/** The summary line. */
export function formatSummary(result: JobResult): string {
  const count = (status: FilesystemStatus) => result.outcomes.filter((o) => o.status === status).length;
  const n = result.outcomes.length;
  const head = `${result.action} ${result.job}${result.dryRun ? " (dry run)" : ""}: ${n} filesystem${n === 1 ? "" : "s"}: `;
  if (result.dryRun) {
    return `${head}${count("planned")} to replicate, ${count("up_to_date")} up to date, ${count("skipped")} skipped, ${count("failed")} refused; nothing was changed`;
  }
  const bytes = result.outcomes.reduce((sum, o) => sum + o.bytes, 0);
  const counts = `${count("done")} done, ${count("up_to_date")} up to date, ${count("skipped")} skipped, ${count("failed")} failed`;
  const wire = result.outcomes.reduce((sum, o) => sum + (o.wireBytes ?? o.bytes), 0);
  return `${head}${counts}; ${formatBytes(bytes)} in ${formatDuration(result.elapsedMs)} (${formatRate(bytes, result.elapsedMs)})${wireNote(bytes, wire)}`;
}

/** `, 3.1 MiB on the wire (26%)` where compression made the two differ; empty otherwise. */
function wireNote(bytes: number, wire: number): string {
  if (wire === bytes) return "";
  return `, ${formatBytes(wire)} on the wire${bytes > 0 ? ` (${Math.round((wire * 100) / bytes)}%)` : ""}`;
}

/** One line per finished filesystem: `done  tank/a  2 snapshots, 12.0 MiB in 1.0 s (12.0 MiB/s)`. */
export function formatOutcome(outcome: FilesystemOutcome, elapsedMs: number): string {
  const s = outcome.snapshots === 1 ? "" : "s";
  return `done  ${outcome.name}  ${outcome.snapshots} snapshot${s}, ${formatBytes(outcome.bytes)} in ${formatDuration(elapsedMs)} (${formatRate(outcome.bytes, elapsedMs)})${wireNote(outcome.bytes, outcome.wireBytes ?? outcome.bytes)}`;
}

/**
 * A cycle's snapshots in one line, `created @zferry_20261201T100000Z on 200 filesystems`: one name
 * for all of them, and an hourly run of 10 000 filesystems is not 10 000 lines (a dry run lists each).
 */
export function formatCreated(name: string, count: number): string {
  return `created @${name} on ${count} filesystem${count === 1 ? "" : "s"}`;
}
