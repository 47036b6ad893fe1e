/** `zferry push JOB`: send local filesystems into the server's receive_root for our identity. */
import { defineCommand } from "citty";
import { findJob, runJobOnTerminal } from "../client/index.ts";
import { loadConfig } from "../config/index.ts";
import { configureLogging } from "../log.ts";
import { UsageError } from "./errors.ts";

export default defineCommand({
  meta: { name: "push", description: "Push the job's filesystems into the server's receive_root" },
  args: {
    job: { type: "positional", description: "A [jobs.NAME] of type push in the config", required: true },
    config: { type: "string", description: "Config file (default $ZFERRY_CONFIG or /etc/zferry/zferry.toml)" },
    "dry-run": { type: "boolean", description: "Print the plan (filesystem, from → to, estimated size) and change nothing", default: false },
  },
  async run({ args }) {
    const config = loadConfig(args.config);
    // The client logs to stderr; ZFERRY_LOG_LEVEL (e.g. debug, to see every zfs command) wins over [log] level.
    if (!process.env.ZFERRY_LOG_LEVEL) configureLogging({ level: config.log.level });
    const job = findJob(config, args.job, "push");
    if ("problem" in job) throw new UsageError(job.problem);
    const dryRun = args["dry-run"];
    const failed = await runJobOnTerminal(config, job, { dryRun });
    // Exit 1 without a stack (cli.ts); the reasons are already printed, one line per filesystem.
    if (failed > 0) throw new Error(`push ${job.name}: ${failed} filesystem${failed === 1 ? "" : "s"} ${dryRun ? "cannot be replicated" : "failed"}`);
  },
});
