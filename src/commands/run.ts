/**
 * `zferry run JOB`: what the systemd timer starts. A job with `snapshot = { prefix }` runs the
 * whole cycle (snapshot → replicate → protect the base → prune; client/cycle.ts for a pull,
 * client/push-cycle.ts for a push); any other job
 * runs by its configured type (pull or push), as before.
 *
 * Testing hook: `ZFERRY_NOW` (an ISO 8601 UTC time or Unix milliseconds) replaces the wall clock
 * for the snapshot name, so a test can run the cycle over simulated days. It is read here and
 * nowhere else.
 */
import { defineCommand } from "citty";
import { cycleFailures, findJob, hasCycle, lockJob, runCycle, runPushCycle, terminalOutput } from "../client/index.ts";
import { loadConfig } from "../config/index.ts";
import { configureLogging } from "../log.ts";
import { jobCommand } from "./_job-command.ts";
import { BusyError, UsageError } from "./errors.ts";

const byType = jobCommand("run", "Run a job: snapshot, replicate and prune as configured");

export default defineCommand({
  meta: byType.meta,
  args: byType.args,
  async run(context) {
    const { args } = context;
    const config = loadConfig(args.config);
    const job = findJob(config, args.job, "any");
    if ("problem" in job) throw new UsageError(job.problem);
    if (!hasCycle(job)) return byType.run!(context);
    // The cycle's report (snapshots made and destroyed) has no JSON form yet; replicating alone
    // under --json would skip what the job is configured to do.
    if (args.json) throw new UsageError(`run ${job.name}: --json is not available for a job with a snapshot cycle (snapshot = { prefix }); use "zferry ${job.type} ${job.name} --json" for its replication alone`);
    if (!process.env.ZFERRY_LOG_LEVEL) configureLogging({ level: config.log.level });
    const dryRun = args["dry-run"];
    const lock = dryRun ? null : lockJob(config, job);
    if (lock && "busy" in lock) throw new BusyError(`run ${job.name}: not started: ${lock.busy}`);
    using _held = lock;
    const clock = clockFromEnv(process.env.ZFERRY_NOW);
    let result;
    try {
      const options = { dryRun, output: terminalOutput(process.env), clock };
      result = job.type === "pull" ? await runCycle(config, job, options) : await runPushCycle(config, job, options);
    } catch (err) {
      throw new Error(`run ${job.name}: ${(err as Error).message}`, { cause: err });
    }
    const failed = cycleFailures(result);
    if (failed > 0) throw new Error(`run ${job.name}: ${failed} step${failed === 1 ? "" : "s"} failed`);
  },
});

// --- internal ---

function clockFromEnv(value: string | undefined): () => number {
  if (value === undefined || value === "") return Date.now;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new UsageError(`ZFERRY_NOW=${JSON.stringify(value)} is not a time: write an ISO 8601 UTC time such as 2026-12-01T10:30:00Z, or Unix milliseconds`);
  return () => ms;
}
