/**
 * `zferry push JOB`: send the job's local filesystems into the server's receive_root for our
 * identity (`<receive_root>/<local name>`). The server creates missing parents as placeholders and
 * refuses anything that would overwrite; this side plans by GUID exactly as a pull does, with the
 * server's copy as the target: one local listing, one `list_tree` of what was pushed, then the
 * changed filesystems `concurrency` at a time, parents first, each worker on its own connection.
 *
 * A resume token from the server is client input to nothing but our own `zfs send -t`, and a
 * crafted one could make it send another dataset or drop raw mode (openzfs#14153 seen from the
 * other side), so it is decoded here first and must name the very dataset being pushed.
 */
import type { Config, PushJobConfig } from "../config/index.ts";
import { ZfsRunner, decodeResumeToken, quote, type DatasetName, type TreeNode } from "../zfs/index.ts";
import { runPlanned, type PlannedFilesystem, type RunJobOptions } from "./job-runner.ts";
import { jobLanes } from "./lanes.ts";
import { NO_SNAPSHOTS, newestSnapshot, planInput, planReplication, planVersionOf, planVersionOfEntry, upToDateAtNewest, type PlanResume, type Step } from "./plan.ts";
import { listPushSides, type PushSides } from "./push-listing.ts";
import { pushStep } from "./push-step.ts";
import type { RemoteTreeNode } from "./remote-tree.ts";
import type { UnchangedEntry, UnchangedMarks } from "./unchanged.ts";
import { loadUnchanged, saveUnchanged, unchangedStorePath } from "./unchanged-store.ts";
import { agreeCompression } from "./wire-compression.ts";
import type { JobResult } from "./summary.ts";

/**
 * Runs a push job.
 * @throws Error with one line when the job cannot start at all (no connection, no receive_root)
 */
export async function runPush(config: Config, job: PushJobConfig, options: RunJobOptions): Promise<JobResult> {
  const { dryRun = false, output, signal, now = () => performance.now() } = options;
  const started = now();
  const runner = new ZfsRunner({ bin: config.zfs.bin });
  const store = unchangedStorePath(config, job);
  const marks = loadUnchanged(store, "push");
  const sides = await listPushSides(config, job, runner, marks);
  const { first, caps, local, pushed, unchanged } = sides;
  await using _first = { [Symbol.asyncDispose]: () => first.close() };
  const session = first.session;
  const { info } = session;
  const receiveRoot = info.receive_root!; // listPushSides checked it
  const names = [...local.keys()].sort() as DatasetName[];
  output.line(`push ${job.name}: ${names.length} filesystem${names.length === 1 ? "" : "s"} to ${session.label} into ${info.receive_root}${dryRun ? " (dry run)" : ""}`);

  const canResume = caps.resumable && info.capabilities.resumable;
  const planned = await Promise.all(
    names.map((name) => {
      const entry = unchanged.get(name);
      return entry ? unchangedPlanned(name, entry) : planFilesystem(runner, { job, name, node: local.get(name)!, remote: pushed.get(name), canResume, receiveRoot });
    }),
  );
  if (!dryRun) keepMarks(store, marks, planned, sides);

  const compression = agreeCompression(job, { info, flags: session.flags, note: output.line });
  const ctx = { runner, caps, resumable: canResume, send: job.send, progress: output.progress, signal, compression, bandwidthLimit: job.bandwidthLimit };
  await using lanes = jobLanes(config, job, first);
  // `return await`: the sessions must stay open until every filesystem is done (await using).
  return await runPlanned(
    planned,
    { action: "push", job: job.name, dryRun, output, signal, now, started, concurrency: job.concurrency, lanes },
    async (p, moved, lane) => {
      for (const [i, step] of p.plan.steps.entries()) {
        moved.bytes += await pushStep({ ...ctx, remote: lane.remote }, { source: p.source, step, estimate: p.estimates?.[i] ?? null, moved });
        moved.snapshots++;
      }
    },
  );
}

// --- internal ---

/** A filesystem whose marks did not move: planned as its entry says, without a listing of its versions. */
function unchangedPlanned(name: DatasetName, entry: UnchangedEntry): PushPlanned {
  return { name, source: name, plan: entry.kind === "up_to_date" ? { kind: "up_to_date", at: entry.at } : { kind: "skip", reason: NO_SNAPSHOTS } };
}

/** Keeps, for the next run, the marks of what is up to date now (unchanged.ts says which it may trust). */
function keepMarks(store: string, before: UnchangedMarks, planned: readonly PushPlanned[], sides: PushSides): void {
  const next = new Map<string, UnchangedEntry>();
  for (const p of planned) {
    const entry = p.plan && (sides.unchanged.get(p.name) ?? sides.markable(p.name, p.plan));
    if (entry) next.set(p.name, entry);
  }
  if (next.size > 0 || before.size > 0) saveUnchanged(store, "push", next);
}

interface PushPlanned extends PlannedFilesystem {
  readonly source: DatasetName;
}

async function planFilesystem(
  runner: ZfsRunner,
  args: { job: PushJobConfig; name: DatasetName; node: TreeNode; remote: RemoteTreeNode | undefined; canResume: boolean; receiveRoot: string },
): Promise<PushPlanned> {
  const { job, name, node, remote, canResume, receiveRoot } = args;
  try {
    const entry = remote?.entry;
    const resume = entry?.resume_token ? await checkedResume(runner, name, { token: entry.resume_token, job }) : null;
    const theirs = remote?.versions ?? [];
    const plan =
      upToDateAtNewest(newestSnapshot(node.versions, planVersionOf), newestSnapshot(theirs, planVersionOfEntry), { resume }) ??
      planReplication(
        planInput(node.versions, planVersionOf),
        { name: `${receiveRoot}/${name}`, exists: entry !== undefined, placeholder: entry?.placeholder ?? false, versions: planInput(theirs, planVersionOfEntry), resume },
        { initial: job.initial, canResume },
      );
    const estimates = plan.kind === "replicate" ? plan.steps.map((step) => estimateLocalStep(node, step)) : undefined;
    return { name, source: name, plan, ...(estimates ? { estimates } : {}) };
  } catch (err) {
    return { name, source: name, plan: null, error: (err as Error).message };
  }
}

/** A step's size from the local listing, as pull.ts estimates from the server's. */
function estimateLocalStep(node: TreeNode, step: Step): bigint | null {
  if (step.kind === "resume") return null;
  const snap = node.versions.find((v) => v.guid === step.to.guid && v.name.kind === "snapshot");
  const size = step.kind === "full" ? snap?.referenced : snap?.written;
  return size === undefined || size === null ? null : BigInt(size);
}

/**
 * Decodes the server's resume token with our zfs and checks it continues a send of `dataset`
 * in the job's raw mode.
 * @throws Error when the token names something else
 */
async function checkedResume(runner: ZfsRunner, dataset: DatasetName, args: { token: string; job: PushJobConfig }): Promise<PlanResume> {
  const info = await decodeResumeToken(runner, args.token);
  if (info.toname.dataset !== dataset) {
    throw new Error(`The server's resume token for ${quote(dataset)} names ${quote(info.toname.full)}; refusing to send it`);
  }
  if (args.job.send.raw && !info.rawok) throw new Error(`The server's resume token for ${quote(dataset)} asks for a non-raw stream, but the job sends raw; refusing`);
  return { token: args.token, toguid: info.toguid, ...(info.fromguid === undefined ? {} : { fromguid: info.fromguid }) };
}
