/**
 * The part of `zferry pull` / `zferry push` between citty and the job: pick the job from the
 * config, run it on the terminal with Ctrl-C handling, print the summary, record the run in the
 * metrics textfile. The commands turn the outcome into an exit code (cli.ts: a thrown Error is one
 * line and exit 1).
 */
import { lockDirOf, type Config, type JobConfig, type PullJobConfig, type PushJobConfig } from "../config/index.ts";
import type { RunRecord } from "./metrics/job-samples.ts";
import { writeJobMetrics } from "./metrics/textfile.ts";
import { jsonFailure, jsonReport } from "./json-report.ts";
import { terminalOutput, writeStdout, type ClientOutput } from "./output.ts";
import { runPull } from "./pull.ts";
import { runPush } from "./push.ts";
import { failedCount, formatSummary, type JobResult } from "./summary.ts";

/** What a command asks for: a job of one type (`zferry pull`/`push`), or of either (`zferry run`). */
export type JobKind = JobConfig["type"] | "any";

type JobOfType<T extends JobKind> = T extends "pull" ? PullJobConfig : T extends "push" ? PushJobConfig : JobConfig;

/** The job named `name` of type `type` (any type for "any"), or a line saying why there is none (a usage error). */
export function findJob<T extends JobKind>(config: Config, name: string, type: T): JobOfType<T> | { problem: string } {
  const job = Object.hasOwn(config.jobs, name) ? config.jobs[name] : undefined;
  if (!job) {
    const known = Object.keys(config.jobs).sort();
    return { problem: `Unknown job ${JSON.stringify(name)} in ${config.file}${known.length ? ` (jobs: ${known.join(", ")})` : " (it has no [jobs])"}` };
  }
  if (type !== "any" && job.type !== type) return { problem: `Job ${JSON.stringify(name)} is a ${job.type} job; run "zferry ${job.type} ${name}"` };
  return job as JobOfType<T>;
}

/**
 * Runs `job` with output on the terminal; with `json`, the text goes to stderr and stdout gets one
 * JSON document (json-report.ts), also when the job could not run. The first SIGINT/SIGTERM stops
 * the transfer in flight and skips the rest (still printing the summary); a second one exits at
 * once. Unless a dry run, the run is then recorded in `[metrics] textfile`.
 * @returns the number of filesystems that failed
 * @throws Error `"pull prod: <reason>"` when the job could not run at all
 */
export async function runJobOnTerminal(config: Config, job: JobConfig, options: { dryRun: boolean; json?: boolean }): Promise<number> {
  const output = terminalOutput(process.env, { textToStderr: options.json === true });
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(128 + (signal === "SIGINT" ? 2 : 15));
    output.error(`zferry: ${job.type} ${job.name}: ${signal}: stopping after cleaning up (again to quit at once)`);
    stop.abort(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const started = performance.now();
  let result: JobResult | null = null;
  try {
    const run = { dryRun: options.dryRun, output, signal: stop.signal };
    result = job.type === "pull" ? await runPull(config, job, run) : await runPush(config, job, run);
    output.line(formatSummary(result));
    if (options.json) writeStdout(`${JSON.stringify(jsonReport(result))}\n`);
    return failedCount(result);
  } catch (err) {
    if (options.json && result === null) {
      const failure = { action: job.type, job: job.name, dryRun: options.dryRun, error: (err as Error).message, elapsedMs: performance.now() - started };
      writeStdout(`${JSON.stringify(jsonFailure(failure))}\n`);
    }
    throw new Error(`${job.type} ${job.name}: ${(err as Error).message}`, { cause: err });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    // A job that could not run is recorded too (result null): that is what an alert waits for.
    if (!options.dryRun && config.metrics.textfile) {
      const record: RunRecord = { job: job.name, endedAt: Date.now() / 1000, durationSeconds: Math.round(performance.now() - started) / 1000, outcomes: result?.outcomes ?? null };
      await recordMetrics(config, config.metrics.textfile, { record, output, label: `${job.type} ${job.name}` });
    }
  }
}

// --- internal ---

/**
 * A textfile that cannot be written is one line on stderr, not a failed run: the replication
 * itself is done, and the stale `last_attempt` time is what monitoring sees.
 */
async function recordMetrics(config: Config, path: string, args: { record: RunRecord; output: ClientOutput; label: string }): Promise<void> {
  try {
    await writeJobMetrics(path, args.record, { lockDir: lockDirOf(config) });
  } catch (err) {
    args.output.error(`zferry: ${args.label}: metrics not written: ${(err as Error).message}`);
  }
}
