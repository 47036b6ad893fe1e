/**
 * The citty command shared by `zferry pull JOB`, `zferry push JOB` and `zferry run JOB`: pull and
 * push insist on the job's type, run takes the job's configured type (what a timer unit starts,
 * and what a later snapshot/prune cycle extends).
 */
import { defineCommand } from "citty";
import { findJob, lockJob, runJobOnTerminal, useLocalServer, type JobKind } from "../client/index.ts";
import { loadConfig } from "../config/index.ts";
import { configureLogging } from "../log.ts";
import { serveInProcess } from "../server/index.ts";
import { BusyError, UsageError } from "./errors.ts";

// Every command that runs a job (pull, push, run) loads this file: local connect serves its
// stdinserver inside this process.
useLocalServer(serveInProcess);

export function jobCommand(name: "pull" | "push" | "run", description: string) {
  const kind: JobKind = name === "run" ? "any" : name;
  return defineCommand({
    meta: { name, description },
    args: {
      job: { type: "positional", description: kind === "any" ? "A [jobs.NAME] of the config (pull or push)" : `A [jobs.NAME] of type ${kind} in the config`, required: true },
      config: { type: "string", description: "Config file (default $ZFERRY_CONFIG or /etc/zferry/zferry.toml)" },
      "dry-run": { type: "boolean", description: "Print the plan (filesystem, from → to, estimated size) and change nothing", default: false },
      json: { type: "boolean", description: "Print the plan and the outcome as one JSON document on stdout; the text goes to stderr", default: false },
    },
    async run({ args }) {
      rejectUnknownOptions(args, ["job", "config", "dry-run", "dryRun", "json"]);
      const config = loadConfig(args.config);
      // The client logs to stderr; ZFERRY_LOG_LEVEL (e.g. debug, to see every zfs command) wins over [log] level.
      if (!process.env.ZFERRY_LOG_LEVEL) configureLogging({ level: config.log.level });
      const job = findJob(config, args.job, kind);
      if ("problem" in job) throw new UsageError(job.problem);
      const { type } = job;
      const dryRun = args["dry-run"];
      // Before connecting or running zfs: a second run must change nothing (job-lock.ts).
      const lock = dryRun ? null : lockJob(config, job);
      if (lock && "busy" in lock) throw new BusyError(`${type} ${job.name}: not started: ${lock.busy}`);
      using _held = lock;
      const failed = await runJobOnTerminal(config, job, { dryRun, json: args.json });
      // Exit 1 without a stack (cli.ts); the reasons are already printed, one line per filesystem.
      if (failed > 0) throw new Error(`${type} ${job.name}: ${failed} filesystem${failed === 1 ? "" : "s"} ${dryRun ? "cannot be replicated" : "failed"}`);
    },
  });
}

// --- internal ---

/**
 * citty keeps options it does not know (`--dryrun` becomes `args.dryrun`); a typo in a timer unit
 * must not run the job for real, so anything not declared is a usage error.
 * @throws UsageError naming the first unknown option
 */
function rejectUnknownOptions(args: Record<string, unknown>, known: readonly string[]): void {
  const unknown = Object.keys(args).find((key) => key !== "_" && !known.includes(key));
  if (unknown !== undefined) throw new UsageError(`Unknown option ${JSON.stringify(`--${unknown}`)}; run \`zferry --help\` for usage`);
}
