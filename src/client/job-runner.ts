/**
 * What pull and push share once each has planned its filesystems: print the plan, stop there for a
 * dry run, otherwise replicate them `concurrency` at a time (parallel-tree.ts: a parent before its
 * children) and record each outcome. A failure ends only its own filesystem; a broken connection
 * ends the work of its lane, an interrupt the rest of the job, each with the reason.
 */
import { requestIdOf } from "../rpc/index.ts";
import { stepSnapshots, type Plan } from "./plan.ts";
import { formatPlanTable, formatRunPlan } from "./plan-table.ts";
import type { ClientOutput } from "./output.ts";
import { runTree, type LaneSource } from "./parallel-tree.ts";
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

export interface JobRunOptions<L> {
  readonly action: "pull" | "push";
  readonly job: string;
  readonly dryRun: boolean;
  readonly output: ClientOutput;
  readonly signal?: AbortSignal;
  readonly now: () => number;
  readonly started: number;
  /** Filesystems replicated at the same time at most (1: one after the other). */
  readonly concurrency: number;
  /** The connections the transfers run on, one per worker. */
  readonly lanes: LaneSource<L>;
  /**
   * Runs once every transfer is over, for the checks done in one go (a pull's GUIDs): returns the
   * filesystems that did not check out, with the reason.
   */
  readonly settle?: () => Promise<ReadonlyMap<string, string>>;
}

export type ReplicatePlan = Extract<Plan, { kind: "replicate" }>;

/**
 * Replicates one planned filesystem on `lane`, counting into `moved` as snapshots arrive (so a
 * failure still reports what did). Throws with a one-line reason.
 */
export type Replicate<P, L> = (planned: P & { readonly plan: ReplicatePlan }, moved: Moved, lane: L) => Promise<void>;

/** What a filesystem moved so far; `requests` are the ids of its calls, for following them in the server's log. */
export interface Moved {
  snapshots: number;
  bytes: number;
  wireBytes?: number;
  requests?: string[];
}

/** Prints the plan, then (unless a dry run) replicates the filesystems, parents before children. */
export async function runPlanned<P extends PlannedFilesystem, L>(planned: readonly P[], options: JobRunOptions<L>, replicate: Replicate<P, L>): Promise<JobResult> {
  const { output, dryRun, action, job, now, started } = options;
  output.lineBlock(dryRun ? formatPlanTable(planned) : formatRunPlan(planned));
  const outcomes = new Map<string, FilesystemOutcome>();
  const tasks: (P & { readonly plan: ReplicatePlan })[] = [];
  for (const p of planned) {
    const decided = decidedOutcome(p, dryRun);
    if (!decided) {
      tasks.push(p as P & { readonly plan: ReplicatePlan });
      continue;
    }
    if (decided.status === "failed") reportFailure(options, p.name, decided.reason!);
    outcomes.set(p.name, decided);
  }
  const progress = tasks.length > 0 ? output.progress.job({ filesystems: tasks.length, estimate: totalEstimate(tasks) }) : null;
  try {
    await runTree(
      tasks,
      {
        concurrency: options.concurrency,
        lanes: options.lanes,
        stopped: () => options.signal?.aborted ?? false,
        // The job goes on with fewer workers than `concurrency` (sshd's MaxStartups, a lost
        // connection); the last one's stop is told per filesystem left (orphaned, below).
        workerStopped: (why, left) => {
          if (left > 0) options.output.error(`zferry: ${action} ${job}: a worker stopped, ${left} go on: ${why.message}`);
        },
      },
      async (p, lane) => {
        const fsStarted = now();
        const moved: Moved = { snapshots: 0, bytes: 0, requests: [] };
        try {
          await replicate(p, moved, lane);
          if (moved.requests?.length === 0) delete moved.requests;
          const outcome: FilesystemOutcome = { name: p.name, status: "done", ...moved, elapsedMs: now() - fsStarted };
          output.line(formatOutcome(outcome, outcome.elapsedMs!));
          outcomes.set(p.name, outcome);
        } catch (err) {
          const total = p.plan.steps.reduce((n, step) => n + stepSnapshots(step), 0);
          const partial = moved.snapshots > 0 ? ` (${moved.snapshots} of ${total} snapshots arrived)` : "";
          const request = requestIdOf(err); // the server's log line for the failed call has it too
          const reason = `${options.signal?.aborted ? "interrupted: " : ""}${(err as Error).message}${partial}${request ? ` [request ${request}]` : ""}`;
          if (moved.requests?.length === 0) delete moved.requests;
          reportFailure(options, p.name, reason);
          outcomes.set(p.name, { name: p.name, status: "failed", ...moved, reason, elapsedMs: now() - fsStarted });
        } finally {
          progress?.finished(moved.wireBytes ?? moved.bytes);
        }
      },
      (p, why) => {
        const reason = options.signal?.aborted ? "interrupted" : `not attempted: the connection failed: ${why?.message ?? "no connection"}`;
        reportFailure(options, p.name, reason);
        outcomes.set(p.name, { name: p.name, status: "failed", snapshots: 0, bytes: 0, reason });
      },
    );
  } finally {
    progress?.stop();
  }
  if (options.settle && tasks.length > 0) {
    for (const [name, reason] of await options.settle()) {
      const outcome = outcomes.get(name);
      if (outcome?.status !== "done") continue;
      reportFailure(options, name, reason);
      outcomes.set(name, { ...outcome, status: "failed", reason });
    }
  }
  return { action, job, dryRun, plan: planned, outcomes: planned.map((p) => outcomes.get(p.name)!), elapsedMs: now() - started };
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

function totalEstimate(tasks: readonly PlannedFilesystem[]): bigint | null {
  let sum = 0n;
  for (const t of tasks) {
    for (const e of t.estimates ?? [null]) {
      if (e === null) return null;
      sum += e;
    }
  }
  return sum;
}

function reportFailure(options: JobRunOptions<unknown>, name: string, reason: string): void {
  options.output.error(`zferry: ${options.action} ${options.job}: ${options.output.red(name)}: ${reason}`);
}
