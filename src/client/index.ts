/**
 * client: `zferry pull` and `zferry push`, the side that connects to a stdinserver (connect.ts),
 * calls its endpoints (remote.ts), plans each filesystem by snapshot GUID (plan.ts, pure) and moves
 * the streams between a local `zfs receive`/`zfs send` and the connection, one verified snapshot
 * at a time.
 *
 * It must not: destroy, roll back or `-F` over target data (the one `-F` is a full stream into an
 * empty zferry placeholder); trust a resume token it did not check; write progress anywhere but a
 * terminal on stderr. It uses api/, rpc/, zfs/ and config/; never server/.
 */
export { connect, sshArgv, useLocalServer, type Connected, type LocalServer } from "./connect.ts";
export { RemoteSession } from "./remote.ts";
export { planReplication, planTarget, type Plan, type PlanOptions, type PlanResume, type PlanTarget, type PlanVersion, type Step } from "./plan.ts";
export { runPull } from "./pull.ts";
export { runPush } from "./push.ts";
export type { RunJobOptions } from "./job-runner.ts";
export { memoryOutput, terminalOutput, type ClientOutput } from "./output.ts";
export { createProgress, renderProgress, type Progress, type ProgressOptions } from "./progress.ts";
export { failedCount, formatSummary, type FilesystemOutcome, type FilesystemStatus, type JobResult } from "./summary.ts";
export { findJob, runJobOnTerminal, type JobKind } from "./job-cli.ts";
export { lockJob, type JobLock } from "./job-lock.ts";
export { cycleFailures, hasCycle, runCycle, type CycleOptions, type CycleResult } from "./cycle.ts";
export { runPushCycle } from "./push-cycle.ts";
