/**
 * What pull and push share once each has planned its filesystems: print the plan, stop there for a
 * dry run, otherwise replicate one filesystem after the other and record each outcome. A failure
 * ends only its own filesystem; a broken connection or an interrupt ends the rest too, each with
 * the reason.
 */
import { requestIdOf } from "../rpc/index.ts";
import type { Plan } from "./plan.ts";
import { formatPlanTable } from "./plan-table.ts";
import type { ClientOutput } from "./output.ts";
import { formatOutcome, type FilesystemOutcome, type JobResult } from "./summary.ts";

/** How a pull or push job is run (from the command line, the demo or a test). */
export interface RunJobOptions {
  readonly dryRun?: boolean;
  readonly output: ClientOutput;
  /** Aborting stops the transfer in flight (its filesystem fails) and skips the rest. */
  readonly signal?: AbortSignal;
  readonly now?: () => number;
}

export interface PlannedFilesystem {
  /** The name on the sending side. */
  readonly name: string;
  /** null when planning itself failed (see `error`). */
  readonly plan: Plan | null;
  readonly error?: string;
  /** Estimated bytes per step, where the sender can estimate. */
  readonly estimates?: readonly (bigint | null)[];
}

export interface JobRunOptions {
  readonly action: "pull" | "push";
  readonly job: string;
  readonly dryRun: boolean;
  readonly output: ClientOutput;
  readonly signal?: AbortSignal;
  readonly now: () => number;
  readonly started: number;
  /** The connection's failure, once it broke. */
  readonly broken: () => Error | null;
}

export type ReplicatePlan = Extract<Plan, { kind: "replicate" }>;

/**
 * Replicates one planned filesystem, counting into `moved` as snapshots arrive (so a failure still
 * reports what did). Throws with a one-line reason.
 */
export type Replicate<P> = (planned: P & { readonly plan: ReplicatePlan }, moved: { snapshots: number; bytes: number; wireBytes?: number; requests?: string[] }) => Promise<void>;

/** Prints the plan, then (unless a dry run) replicates each filesystem in order. */
export async function runPlanned<P extends PlannedFilesystem>(planned: readonly P[], options: JobRunOptions, replicate: Replicate<P>): Promise<JobResult> {
  const { output, dryRun, action, job, now, started } = options;
  for (const line of formatPlanTable(planned)) output.line(line);
  const outcomes: FilesystemOutcome[] = [];
  for (const p of planned) {
    const decided = decidedOutcome(p, dryRun);
    if (decided) {
      if (decided.status === "failed") reportFailure(options, p.name, decided.reason!);
      outcomes.push(decided);
      continue;
    }
    const stop = options.signal?.aborted ? "interrupted" : options.broken() ? `not attempted: the connection failed: ${options.broken()!.message}` : null;
    if (stop) {
      reportFailure(options, p.name, stop);
      outcomes.push({ name: p.name, status: "failed", snapshots: 0, bytes: 0, reason: stop });
      continue;
    }
    const fsStarted = now();
    const moved: { snapshots: number; bytes: number; wireBytes?: number; requests?: string[] } = { snapshots: 0, bytes: 0, requests: [] };
    try {
      await replicate(p as P & { readonly plan: ReplicatePlan }, moved);
      if (moved.requests?.length === 0) delete moved.requests;
      const outcome: FilesystemOutcome = { name: p.name, status: "done", ...moved, elapsedMs: now() - fsStarted };
      output.line(formatOutcome(outcome, outcome.elapsedMs!));
      outcomes.push(outcome);
    } catch (err) {
      const steps = (p.plan as ReplicatePlan).steps.length;
      const partial = moved.snapshots > 0 ? ` (${moved.snapshots} of ${steps} snapshots arrived)` : "";
      const request = requestIdOf(err); // the server's log line for the failed call has it too
      const reason = `${options.signal?.aborted ? "interrupted: " : ""}${(err as Error).message}${partial}${request ? ` [request ${request}]` : ""}`;
      reportFailure(options, p.name, reason);
      outcomes.push({ name: p.name, status: "failed", ...moved, reason, elapsedMs: now() - fsStarted });
    }
  }
  return { action, job, dryRun, plan: planned, outcomes, elapsedMs: now() - started };
}

// --- internal ---

function decidedOutcome(p: PlannedFilesystem, dryRun: boolean): FilesystemOutcome | null {
  const none = { name: p.name, snapshots: 0, bytes: 0 };
  if (!p.plan) return { ...none, status: "failed", reason: p.error ?? "not planned" };
  switch (p.plan.kind) {
    case "replicate":
      return dryRun ? { ...none, status: "planned" } : null;
    case "up_to_date":
      return { ...none, status: "up_to_date" };
    case "skip":
      return { ...none, status: "skipped", reason: p.plan.reason };
    default:
      return { ...none, status: "failed", reason: `${p.plan.kind}: ${p.plan.reason}` };
  }
}

function reportFailure(options: JobRunOptions, name: string, reason: string): void {
  options.output.error(`zferry: ${options.action} ${options.job}: ${options.output.red(name)}: ${reason}`);
}
