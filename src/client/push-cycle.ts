/**
 * `zferry run JOB` for a push job with a snapshot prefix: snapshot here → push → protect the base
 * on both sides → prune each side by its rules. The mirror of cycle.ts: the sender is this host,
 * so its snapshots are taken and pruned here with the job's own zfs, and the receiving side is
 * the server's receive_root, reached through `protect` and `prune` with `received: true`, which
 * the server grants only as the identity's `[clients.NAME]` says.
 */
import type { VersionEntry } from "../api/index.ts";
import type { Config, PushJobConfig } from "../config/index.ts";
import { formatSnapshotName } from "../retention/index.ts";
import {
  createSnapshots,
  destroySnapshots,
  listFilesystems,
  parseDatasetName,
  parseVersionShortName,
  ZfsRunner,
  type DatasetName,
  type ZfsVersion,
} from "../zfs/index.ts";
import { forEachListed, localVersions, NOTHING_LISTED, serverVersions, type ListedVersions } from "./cycle-filesystems.ts";
import type { CycleOptions, CycleResult } from "./cycle.ts";
import type { ClientOutput } from "./output.ts";
import { doAtOnce, type CycleSide, type DoneAtOnce } from "./cycle-at-once.ts";
import { heldSnapshots, newestCommon, protectThere } from "./protect-base.ts";
import { decidePrune, doomedOf, type PruneDecision } from "./prune.ts";
import { pruneThere } from "./prune-there.ts";
import { runPush } from "./push.ts";
import type { JobSession } from "./session.ts";
import { failedCount, formatCreated, formatSummary } from "./summary.ts";

/** Runs the whole cycle of a push job. */
export async function runPushCycle(config: Config, job: PushJobConfig, options: CycleOptions): Promise<CycleResult> {
  const { dryRun, output, clock } = options;
  const prefix = job.snapshotPrefix!;
  const runner = new ZfsRunner({ bin: config.zfs.bin });
  const problems: string[] = [];
  const name = parseVersionShortName(formatSnapshotName(prefix, clock()));
  const datasets = (await listFilesystems(runner)).filter((ds) => job.filesystems.allows(ds)).sort();
  const created = datasets.map((ds) => `${ds}@${name}`);
  if (dryRun) for (const s of created) output.line(`would create ${s} (snapshot prefix ${JSON.stringify(prefix)})`);
  else {
    try {
      await createSnapshots(runner, datasets, { name });
      output.line(formatCreated(name, created.length));
    } catch (err) {
      problems.push(`snapshot: ${(err as Error).message}`);
      output.error(`zferry: run ${job.name}: snapshot: ${(err as Error).message}`);
      created.length = 0;
    }
  }
  const replication = await runPush(config, job, { dryRun, output, ...(options.signal ? { signal: options.signal } : {}) });
  output.line(formatSummary(replication));
  const replicated = replication.outcomes.filter((o) => o.status === "done" || o.status === "up_to_date" || (dryRun && o.status === "planned")).map((o) => o.name);
  const destroyed = await protectAndPrune(config, job, { runner, prefix, filesystems: replicated, dryRun, output, problems });
  const what = dryRun ? ["would create", "would destroy"] : ["created", "destroyed"];
  const failed = failedCount(replication);
  output.line(`run ${job.name}: ${created.length} snapshot${created.length === 1 ? "" : "s"} ${what[0]}, ${destroyed.length} ${what[1]}, ${failed} filesystem${failed === 1 ? "" : "s"} failed, ${problems.length} other problem${problems.length === 1 ? "" : "s"}`);
  return { replication, created, destroyed, problems };
}

// --- internal ---

/**
 * Per filesystem that pushed: hold the new base here and on the server, then prune this side by
 * `keep_sender` and the server's copy by `keep_receiver`, `concurrency` filesystems at a time. A
 * filesystem whose push failed is left alone. Returns what was (or would be) destroyed.
 */
async function protectAndPrune(config: Config, job: PushJobConfig, args: PushStepArgs & { filesystems: readonly string[] }): Promise<string[]> {
  const { runner, dryRun } = args;
  const destroyed: string[] = [];
  const roots = job.filesystems.roots() as DatasetName[] | null;
  const listAndDoAtOnce = async (session: JobSession): Promise<PushSides> => {
    const server = serverVersions(session, { received: true, missingOk: dryRun });
    // In a dry run the server may have no copy yet, nor a receive_root: no versions there.
    const [sender, receiver] = await Promise.all([localVersions(runner, roots, { missingOk: false }), dryRun ? server.catch(() => NOTHING_LISTED) : server]);
    const sideOf = (name: string): CycleSide => {
      const p = pairOf(name, { sender, receiver });
      return { there: p.source, here: p.source, versionsHere: p.local, base: p.base?.name ?? null, doomedThere: () => doomedOf(decideReceiver(job, args.prefix, p)) };
    };
    const done = await doAtOnce(runner, session, { filesystems: args.filesystems, received: true, pruneThere: job.keepReceiver !== undefined, dryRun, sideOf });
    return { sender, receiver, ...done };
  };
  await forEachListed(config, job, args, listAndDoAtOnce, (name, session, sides) => protectAndPruneOne(job, session, { ...args, ...sides, name, destroyed }));
  return destroyed.sort();
}

interface PushStepArgs {
  runner: ZfsRunner;
  prefix: string;
  dryRun: boolean;
  output: ClientOutput;
  problems: string[];
}

/** Both sides listed, and what was done for all filesystems at once (the sender is here). */
interface PushSides extends DoneAtOnce {
  readonly sender: ListedVersions<ZfsVersion>;
  readonly receiver: ListedVersions<VersionEntry>;
}

/** One filesystem on both sides: its name, its versions here and on the server, and the newest snapshot both have. */
function pairOf(name: string, sides: Pick<PushSides, "sender" | "receiver">) {
  const source = parseDatasetName(name);
  const local = sides.sender.get(source);
  const remote = sides.receiver.get(source);
  return { source, local, remote, base: newestCommon(local.map(entryOf), remote.map(versionOfEntry)) };
}

/** One filesystem's protect (on the server; here it is done) and prune; adds what it destroyed to `args.destroyed`. */
async function protectAndPruneOne(job: PushJobConfig, session: JobSession, args: PushStepArgs & PushSides & { name: string; destroyed: string[] }): Promise<void> {
  const { runner, prefix, dryRun, output, destroyed } = args;
  const { source, local, remote, base } = pairOf(args.name, args);
  const failedHere = args.here.failed.get(source);
  if (failedHere !== undefined) throw new Error(`holding the base here: ${failedHere}`);
  const localSnaps = local.filter((v) => v.name.kind === "snapshot").map((v) => ({ name: v.name.name, createtxg: v.createtxg, creation: v.creation }));
  const snapshots = localSnaps.map((s) => parseVersionShortName(s.name));
  if (base && !dryRun) await protectThere(session, { dataset: source, snapshot: base.name }, { received: true, protectedThere: args.protectedThere });
  const holds = args.here.holds.get(source) ?? null;
  if (job.keepSender && localSnaps.length > 0) {
    const held = await heldSnapshots(runner, source, snapshots.filter((s) => s.startsWith(prefix)), holds);
    const decisions = decidePrune(job.keepSender, localSnaps, { prefix, base: base?.name ?? null, replicatedUpTo: base?.createtxg ?? null, held });
    const doomed = report(output, source, decisions, dryRun);
    if (!dryRun) await destroySnapshots(runner, source, { names: doomed.map((s) => parseVersionShortName(s)) });
    destroyed.push(...doomed.map((s) => `${source}@${s}`));
  }
  if (job.keepReceiver) {
    const doomed = report(output, source, decideReceiver(job, prefix, { remote, base }), dryRun, "the server's copy of ");
    if (!dryRun && doomed.length > 0) {
      const r = await pruneThere(session, { dataset: source, snapshots: doomed }, { received: true, prunedThere: args.prunedThere });
      for (const k of r.kept) output.line(`kept the server's copy of ${source}@${k.name}: the server says ${k.reason}`);
      destroyed.push(...r.destroyed.map((s) => `server:${source}@${s}`));
    } else destroyed.push(...doomed.map((s) => `server:${source}@${s}`));
  }
}

/** What the receiver's rules decide for the server's copy of one filesystem, given the base both sides share. */
function decideReceiver(job: PushJobConfig, prefix: string, side: { remote: readonly VersionEntry[]; base: VersionEntry | null }): PruneDecision[] {
  const theirs = side.remote.filter((v) => v.kind === "snapshot");
  return decidePrune(job.keepReceiver!, theirs, { prefix, base: side.base?.name ?? null, replicatedUpTo: null });
}

/** A local version in the wire's shape, for `newestCommon`. */
function entryOf(v: ZfsVersion): VersionEntry {
  return { name: v.name.name, kind: v.name.kind, guid: v.guid, createtxg: v.createtxg, creation: v.creation };
}

/** A server's version in the zfs layer's shape, for `newestCommon` (only kind and guid are read). */
function versionOfEntry(v: VersionEntry): ZfsVersion {
  return { name: { dataset: "" as DatasetName, kind: v.kind, name: v.name as never, full: `@${v.name}` }, guid: v.guid, createtxg: v.createtxg, creation: v.creation };
}

function report(output: ClientOutput, dataset: DatasetName, decisions: readonly PruneDecision[], dryRun: boolean, where = ""): string[] {
  for (const d of decisions) {
    if (d.destroy) output.line(`${dryRun ? "would destroy" : "destroy"} ${where}${dataset}@${d.name}: ${d.reason}`);
    else if (dryRun) output.line(`keep ${where}${dataset}@${d.name}: ${d.reason}`);
  }
  return doomedOf(decisions);
}
