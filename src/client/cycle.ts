/**
 * `zferry run JOB` for a pull job with a snapshot prefix or keep rules: snapshot → replicate →
 * protect the base → prune, each step optional, one summary line and one failure count. A dry run
 * prints every snapshot it would create and destroy, and why, and changes nothing.
 *
 * Replication itself is `runPull`; this file only adds the steps around it, each through its own
 * session, so the replication code stays as it is.
 */
import { ENDPOINTS, snapshotResponse, type VersionEntry } from "../api/index.ts";
import type { Config, JobConfig, PullJobConfig } from "../config/index.ts";
import { formatSnapshotName } from "../retention/index.ts";
import { destroySnapshots, parseDatasetName, parseVersionShortName, ZfsRunner, type DatasetName, type VersionShortName, type ZfsVersion } from "../zfs/index.ts";
import { forEachListed, localVersions, serverVersions, type ListedVersions } from "./cycle-filesystems.ts";
import type { ClientOutput } from "./output.ts";
import { decidePrune, doomedOf, type PruneDecision } from "./prune.ts";
import { doAtOnce, type CycleSide, type DoneAtOnce } from "./cycle-at-once.ts";
import { heldSnapshots, newestCommon, protectThere } from "./protect-base.ts";
import { pruneThere } from "./prune-there.ts";
import { runPull } from "./pull.ts";
import { explainRpcError, openJobSession, type JobSession } from "./session.ts";
import { failedCount, formatCreated, formatSummary, type JobResult } from "./summary.ts";

export interface CycleOptions {
  readonly dryRun: boolean;
  readonly output: ClientOutput;
  readonly signal?: AbortSignal;
  /** Wall-clock milliseconds for the snapshot name; the command passes `Date.now` (or ZFERRY_NOW). */
  readonly clock: () => number;
}

export interface CycleResult {
  readonly replication: JobResult;
  readonly created: readonly string[];
  readonly destroyed: readonly string[];
  /** Steps outside replication that failed, one line each. */
  readonly problems: readonly string[];
}

/** Does this job need more than replication? */
export function hasCycle(job: JobConfig): boolean {
  return job.snapshotPrefix !== undefined;
}

/**
 * Runs the whole cycle of `job`.
 * @returns what happened; `cycleFailures(result)` is what the exit code counts
 */
export async function runCycle(config: Config, job: PullJobConfig, options: CycleOptions): Promise<CycleResult> {
  const { dryRun, output, clock } = options;
  const prefix = job.snapshotPrefix!;
  const problems: string[] = [];
  const created = await takeSnapshots(config, job, { prefix, name: formatSnapshotName(prefix, clock()), dryRun, output, problems });
  const replication = await runPull(config, job, { dryRun, output, ...(options.signal ? { signal: options.signal } : {}) });
  output.line(formatSummary(replication));
  const replicated = replication.outcomes.filter((o) => o.status === "done" || o.status === "up_to_date" || (dryRun && o.status === "planned")).map((o) => o.name);
  const destroyed = await protectAndPrune(config, job, { prefix, filesystems: replicated, dryRun, output, problems });
  const what = dryRun ? ["would create", "would destroy"] : ["created", "destroyed"];
  output.line(`run ${job.name}: ${created.length} snapshot${created.length === 1 ? "" : "s"} ${what[0]}, ${destroyed.length} ${what[1]}, ${failedCount(replication)} filesystem${failedCount(replication) === 1 ? "" : "s"} failed, ${problems.length} other problem${problems.length === 1 ? "" : "s"}`);
  return { replication, created, destroyed, problems };
}

/** Failed filesystems plus failed snapshot/protect/prune steps; 0 means the run succeeded. */
export function cycleFailures(result: CycleResult): number {
  return failedCount(result.replication) + result.problems.length;
}

// --- internal ---

interface StepArgs {
  prefix: string;
  dryRun: boolean;
  output: ClientOutput;
  problems: string[];
}

/** One name for every filesystem the job takes, asked of the server in one call. */
async function takeSnapshots(config: Config, job: PullJobConfig, args: StepArgs & { name: string }): Promise<string[]> {
  const { name, dryRun, output, problems } = args;
  await using session = await openJobSession(config, job);
  const datasets = (await session.remote.listFilesystems()).map((e) => e.name).filter((n) => job.filesystems.allows(n)).sort();
  if (dryRun) {
    for (const ds of datasets) output.line(`would create ${ds}@${name} (snapshot prefix ${JSON.stringify(args.prefix)})`);
    return datasets.map((ds) => `${ds}@${name}`);
  }
  try {
    const { created } = await session.remote.rpc.callValue(ENDPOINTS.snapshot, { datasets, name }, snapshotResponse);
    output.line(formatCreated(name, created.length));
    return created;
  } catch (err) {
    problems.push(`snapshot: ${explainRpcError(err, session.info.identity)}`);
    output.error(`zferry: run ${job.name}: snapshot: ${explainRpcError(err, session.info.identity)}`);
    return [];
  }
}

/**
 * Per filesystem that replicated: hold the new base on both sides, then prune each side by its
 * rules, `concurrency` filesystems at a time. A filesystem whose replication failed is left alone.
 * Returns what was (or, in a dry run, would be) destroyed.
 */
async function protectAndPrune(config: Config, job: PullJobConfig, args: StepArgs & { filesystems: readonly string[] }): Promise<string[]> {
  const runner = new ZfsRunner({ bin: config.zfs.bin });
  const destroyed: string[] = [];
  const listAndDoAtOnce = async (session: JobSession): Promise<PullSides> => {
    const [sender, receiver] = await Promise.all([serverVersions(session, { missingOk: false }), localVersions(runner, job.root, { missingOk: args.dryRun })]);
    const sideOf = (name: string): CycleSide => {
      const p = pairOf(job, name, { sender, receiver });
      return { there: p.source, here: p.target, versionsHere: p.local, base: p.base?.name ?? null, doomedThere: () => doomedOf(decideSender(job, args.prefix, p)) };
    };
    const done = await doAtOnce(runner, session, { filesystems: args.filesystems, received: false, pruneThere: job.keepSender !== undefined, dryRun: args.dryRun, sideOf });
    return { sender, receiver, ...done };
  };
  await forEachListed(config, job, args, listAndDoAtOnce, (name, session, sides) => protectAndPruneOne(job, session, { ...args, ...sides, runner, name, destroyed }));
  return destroyed.sort();
}

/** Both sides listed, and what was done for all filesystems at once (the receiver is here). */
interface PullSides extends DoneAtOnce {
  readonly sender: ListedVersions<VersionEntry>;
  readonly receiver: ListedVersions<ZfsVersion>;
}

/** One filesystem on both sides: its names, its versions there and here, and the newest snapshot both have. */
function pairOf(job: PullJobConfig, name: string, sides: Pick<PullSides, "sender" | "receiver">) {
  const source = parseDatasetName(name);
  const target = parseDatasetName(`${job.root}/${name}`);
  const remote = sides.sender.get(source);
  const local = sides.receiver.get(target);
  return { source, target, remote, local, base: newestCommon(remote, local) };
}

/** One filesystem's protect (on the server; here it is done) and prune; adds what it destroyed to `args.destroyed`. */
async function protectAndPruneOne(job: PullJobConfig, session: JobSession, args: StepArgs & PullSides & { runner: ZfsRunner; name: string; destroyed: string[] }): Promise<void> {
  const { prefix, dryRun, output, runner, destroyed } = args;
  const { source, target, remote, local, base } = pairOf(job, args.name, args);
  const failedHere = args.here.failed.get(target);
  if (failedHere !== undefined) throw new Error(`holding the base here: ${failedHere}`);
  const localSnaps = local.filter((v) => v.name.kind === "snapshot").map((v) => ({ name: v.name.name, createtxg: v.createtxg, creation: v.creation }));
  const snapshots = localSnaps.map((s) => parseVersionShortName(s.name));
  if (base && !dryRun) await protectThere(session, { dataset: source, snapshot: base.name }, { received: false, protectedThere: args.protectedThere });
  const holds = args.here.holds.get(target) ?? null;
  // This side first: the server may still be pruning its side for all filesystems at once.
  if (job.keepReceiver && localSnaps.length > 0) {
    const held = await heldSnapshots(runner, target, snapshots.filter((s) => s.startsWith(prefix)), holds);
    const decisions = decidePrune(job.keepReceiver, localSnaps, { prefix, base: base?.name ?? null, replicatedUpTo: null, held });
    const doomed = report(output, target, decisions, dryRun);
    if (!dryRun) await destroySnapshots(runner, target, { names: doomed.map((s) => parseVersionShortName(s) as VersionShortName) });
    destroyed.push(...doomed.map((s) => `${target}@${s}`));
  }
  if (job.keepSender) {
    const doomed = report(output, source, decideSender(job, prefix, { remote, base }), dryRun);
    if (!dryRun && doomed.length > 0) {
      const r = await pruneThere(session, { dataset: source, snapshots: doomed }, { received: false, prunedThere: args.prunedThere });
      for (const k of r.kept) output.line(`kept ${source}@${k.name}: the server says ${k.reason}`);
      destroyed.push(...r.destroyed.map((s) => `${source}@${s}`));
    } else destroyed.push(...doomed.map((s) => `${source}@${s}`));
  }
}

/** What the sender's rules decide for one filesystem, given the base both sides share. */
function decideSender(job: PullJobConfig, prefix: string, side: { remote: readonly VersionEntry[]; base: VersionEntry | null }): PruneDecision[] {
  const snaps = side.remote.filter((v) => v.kind === "snapshot");
  return decidePrune(job.keepSender!, snaps, { prefix, base: side.base?.name ?? null, replicatedUpTo: side.base?.createtxg ?? null });
}

/** Prints what goes (and, in a dry run, what stays and why); returns the names to destroy. */
function report(output: ClientOutput, dataset: DatasetName, decisions: readonly PruneDecision[], dryRun: boolean): string[] {
  for (const d of decisions) {
    if (d.destroy) output.line(`${dryRun ? "would destroy" : "destroy"} ${dataset}@${d.name}: ${d.reason}`);
    else if (dryRun) output.line(`keep ${dataset}@${d.name}: ${d.reason}`);
  }
  return doomedOf(decisions);
}
