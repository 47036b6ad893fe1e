/**
 * `--json`: a run as one JSON document on stdout (the human text then goes to stderr), for scripts
 * and monitoring that should not parse the table. Pure; snake_case keys like the wire protocol's,
 * GUIDs as decimal strings (they exceed 2^53), sizes in bytes as numbers.
 */
import type { Plan, Step } from "./plan.ts";
import type { PlanRow } from "./plan-table.ts";
import { failedCount, type FilesystemOutcome, type FilesystemStatus, type JobResult } from "./summary.ts";

/** Bumped when a key changes meaning or goes away; new keys may appear without it. */
export const JSON_REPORT_VERSION = 1;

export interface JsonStep {
  readonly kind: Step["kind"];
  /** The incremental base: a snapshot name, or `#name` for a bookmark. */
  readonly from?: string;
  readonly to: string;
  readonly to_guid: string;
}

export type JsonPlan =
  | { readonly kind: "replicate"; readonly initial: boolean; readonly steps: readonly JsonStep[] }
  | { readonly kind: "up_to_date"; readonly at: string }
  | { readonly kind: "skip" | "diverged" | "conflict"; readonly reason: string };

export interface JsonFilesystem {
  readonly name: string;
  /** null when planning failed (`reason` says why). */
  readonly plan: JsonPlan | null;
  /** The sender's estimate of all steps; null when it cannot estimate one of them. */
  readonly estimated_bytes: number | null;
  readonly status: FilesystemStatus;
  readonly snapshots: number;
  readonly bytes: number;
  /** Bytes on the wire: less than `bytes` with compression, equal without. */
  readonly wire_bytes: number;
  /** Request ids of its transfers, as the server's log lines carry them; absent when none ran. */
  readonly requests?: readonly string[];
  readonly elapsed_seconds?: number;
  readonly reason?: string;
}

export interface JsonReport {
  readonly version: number;
  readonly action: "pull" | "push";
  readonly job: string;
  readonly dry_run: boolean;
  /** No filesystem failed, and the job ran. */
  readonly ok: boolean;
  /** Why the job could not run at all (then `filesystems` is empty). */
  readonly error?: string;
  readonly elapsed_seconds: number;
  readonly filesystems: readonly JsonFilesystem[];
}

/** The document for a run that planned (and, unless a dry run, replicated). */
export function jsonReport(result: JobResult): JsonReport {
  const byName = new Map(result.outcomes.map((o) => [o.name, o]));
  return {
    version: JSON_REPORT_VERSION,
    action: result.action,
    job: result.job,
    dry_run: result.dryRun,
    ok: failedCount(result) === 0,
    elapsed_seconds: seconds(result.elapsedMs),
    filesystems: result.plan.map((row) => jsonFilesystem(row, byName.get(row.name))),
  };
}

/** The document for a job that could not run (no connection, no root): `ok: false` and why. */
export function jsonFailure(args: { action: "pull" | "push"; job: string; dryRun: boolean; error: string; elapsedMs: number }): JsonReport {
  return { version: JSON_REPORT_VERSION, action: args.action, job: args.job, dry_run: args.dryRun, ok: false, error: args.error, elapsed_seconds: seconds(args.elapsedMs), filesystems: [] };
}

// --- internal ---

function jsonFilesystem(row: PlanRow, outcome: FilesystemOutcome | undefined): JsonFilesystem {
  const reason = outcome?.reason ?? (row.plan ? undefined : row.error);
  return {
    name: row.name,
    plan: row.plan ? jsonPlan(row.plan) : null,
    estimated_bytes: estimated(row),
    status: outcome?.status ?? "failed",
    snapshots: outcome?.snapshots ?? 0,
    bytes: outcome?.bytes ?? 0,
    wire_bytes: outcome?.wireBytes ?? outcome?.bytes ?? 0,
    ...(outcome?.requests?.length ? { requests: outcome.requests } : {}),
    ...(outcome?.elapsedMs === undefined ? {} : { elapsed_seconds: seconds(outcome.elapsedMs) }),
    ...(reason === undefined ? {} : { reason }),
  };
}

function jsonPlan(plan: Plan): JsonPlan {
  switch (plan.kind) {
    case "replicate":
      return { kind: "replicate", initial: plan.initial, steps: plan.steps.map(jsonStep) };
    case "up_to_date":
      return { kind: "up_to_date", at: plan.at.name };
    default:
      return { kind: plan.kind, reason: plan.reason };
  }
}

function jsonStep(step: Step): JsonStep {
  const from = step.kind === "full" ? undefined : step.from;
  return { kind: step.kind, ...(from ? { from: `${from.kind === "bookmark" ? "#" : ""}${from.name}` } : {}), to: step.to.name, to_guid: String(step.to.guid) };
}

function estimated(row: PlanRow): number | null {
  if (row.plan?.kind !== "replicate" || !row.estimates || row.estimates.length === 0 || row.estimates.some((e) => e === null)) return null;
  return Number((row.estimates as bigint[]).reduce((a, b) => a + b, 0n));
}

function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}
