/**
 * `zferry pull JOB`: replicate what a stdinserver offers into `<root>/<remote name>` here.
 *
 * Planning costs one listing per side, whatever the number of filesystems: the server's whole
 * offered tree in one `list_tree` call, the target tree here in one `zfs list` (pull-listing.ts;
 * on OpenZFS 2.2+ a filesystem whose snapshots did not change since the last run is not even
 * listed, unchanged.ts). Each filesystem is then planned by GUID (plan.ts) and the changed ones are received
 * `concurrency` at a time, parents before children, each worker on its own connection
 * (lanes.ts). A filesystem's receive is one `zfs receive` of one stream (`-I` where this zfs can
 * confine it in the receive). Each stream's first record must carry the planned GUIDs before zfs
 * receive gets a byte; what a `-I` stream brought is checked in one more listing at the end, of
 * those targets alone. A filesystem that fails does not stop the others.
 */
import type { Config, PullJobConfig } from "../config/index.ts";
import { confineReceived, decodeResumeToken, isConfined, parseDatasetName, removePlaceholders, ZfsRunner, type DatasetName, type TreeNode } from "../zfs/index.ts";
import { runPlanned, type PlannedFilesystem, type RunJobOptions } from "./job-runner.ts";
import { jobLanes } from "./lanes.ts";
import { prepareParents } from "./local-target.ts";
import { NO_SNAPSHOTS, newestSnapshot, planInput, planReplication, planVersionOf, planVersionOfEntry, upToDateAtNewest, type Plan, type PlanResume, type PlanTarget, type Step } from "./plan.ts";
import { pullStep } from "./pull-step.ts";
import { listPullSides, type LocalTree, type PullSides } from "./pull-listing.ts";
import { verifyReceived, type Received } from "./received-check.ts";
import type { RemoteTreeNode } from "./remote-tree.ts";
import type { UnchangedEntry, UnchangedMarks } from "./unchanged.ts";
import { loadUnchanged, saveUnchanged, unchangedStorePath } from "./unchanged-store.ts";
import type { JobResult } from "./summary.ts";
import { agreeCompression } from "./wire-compression.ts";

/**
 * Runs a pull job.
 * @throws Error with one line when the job cannot start at all (no root, no connection, refused)
 */
export async function runPull(config: Config, job: PullJobConfig, options: RunJobOptions): Promise<JobResult> {
  const { dryRun = false, output, signal, now = () => performance.now() } = options;
  const started = now();
  const runner = new ZfsRunner({ bin: config.zfs.bin });
  const store = unchangedStorePath(config, job);
  const scope = `pull ${job.root}`;
  const marks = loadUnchanged(store, scope);
  const sides = await listPullSides(config, job, runner, marks);
  const { first, caps, offered, local, unchanged } = sides;
  await using _first = { [Symbol.asyncDispose]: () => first.close() };
  const session = first.session;
  const names = [...offered.keys()].sort();
  output.line(`pull ${job.name}: ${names.length} filesystem${names.length === 1 ? "" : "s"} from ${session.label} into ${job.root}${dryRun ? " (dry run)" : ""}`);

  const canResume = caps.resumable && session.info.capabilities.resumable;
  // `-I` streams are compound on old zfs, which the stream gate there refuses (zfs/confine.ts).
  const planOptions = { initial: job.initial, canResume, intermediates: caps.recvExclude };
  const planned: PullPlanned[] = await Promise.all(
    names.map((name) => {
      const entry = unchanged.get(name);
      return entry ? upToDate(job, name, entry) : planFilesystem(runner, { job, name, node: offered.get(name)!, local, planOptions });
    }),
  );
  if (!dryRun) keepMarks(store, scope, marks, planned, sides);
  const existing = new Set<string>(local.keys());

  const allowHint = `receive = { properties = true } in [jobs.${job.name}]`;
  const policy = job.receive;
  const compression = agreeCompression(job, { info: session.info, flags: session.flags, note: output.line });
  // Siblings may share a missing parent: placeholders are made one filesystem at a time.
  const parents = serial();
  const received: Received[] = [];
  await using lanes = jobLanes(config, job, first);
  // `return await`: the sessions must stay open until every filesystem is done (await using).
  return await runPlanned(
    planned,
    {
      action: "pull",
      job: job.name,
      dryRun,
      output,
      signal,
      now,
      started,
      concurrency: job.concurrency,
      lanes,
      settle: () => verifyReceived(runner, received),
    },
    async (p, moved, lane) => {
      const { source, target } = p;
      const ctx = { remote: lane.remote, runner, caps, resumable: canResume, flags: session.flags, policy, allowHint, progress: output.progress, signal, compression, bandwidthLimit: job.bandwidthLimit };
      const created = await parents.run(() => prepareParents(runner, target, { root: job.root, existing, caps }));
      let failure: unknown = null;
      let arrived = 0; // receives zfs finished
      try {
        for (const [i, step] of p.plan.steps.entries()) {
          const force = i === 0 && step.kind === "full" && p.plan.intoPlaceholder;
          const { bytes, checked } = await pullStep(ctx, { source, target, step, force, confined: p.staysConfined ?? false, estimate: p.estimates?.[i] ?? null, moved });
          moved.bytes += bytes;
          arrived++;
          existing.add(target);
          const snapshots = [...(step.kind === "incremental" ? (step.intermediates ?? []) : []), step.to];
          moved.snapshots += snapshots.length;
          if (!checked) received.push({ target, name: p.name, snapshots });
        }
      } catch (err) {
        failure = err;
      }
      // What arrived is kept and confined even when a later step failed. A receive with `-x`/`-o`
      // (pull-step.ts) did that itself; a resumed one and zfs without them need it done after.
      const confinedByReceive = caps.recvExclude && caps.recvProperties && !p.plan.steps.some((s) => s.kind === "resume");
      if (arrived > 0 && !confinedByReceive && !p.staysConfined) {
        try {
          await confineReceived(runner, target, { policy, wasPlaceholder: p.plan.intoPlaceholder });
        } catch (err) {
          failure ??= err;
        }
      }
      if (failure === null) return;
      // Nothing arrived: the placeholders made for this filesystem go again (those that hold
      // something, such as a partial receive kept for resuming, stay).
      if (arrived === 0 && created.length > 0) {
        // A cleanup that fails keeps them counted as existing; the step's failure is what is reported.
        const kept = new Set<string>(await removePlaceholders(runner, created).catch(() => created));
        for (const ds of created) if (!kept.has(ds)) existing.delete(ds);
      }
      throw failure;
    },
  );
}

// --- internal ---

/** Runs the functions given to it one after the other. */
function serial(): { run<T>(fn: () => Promise<T>): Promise<T> } {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run(fn) {
      const result = tail.then(fn);
      tail = result.catch(() => {});
      return result;
    },
  };
}

interface PullPlanned extends PlannedFilesystem {
  readonly source: DatasetName;
  readonly target: DatasetName;
  /**
   * The target is confined already and its plan cannot change that: single incremental streams
   * only, which the stream gate lets through only without properties. Their receives need no
   * `-x`/`-o` (which cost a receive half again on OpenZFS) and no confining after them.
   */
  readonly staysConfined?: boolean;
}

/** A filesystem whose marks did not move: planned as its entry says, without a listing of its versions. */
function upToDate(job: PullJobConfig, name: string, entry: UnchangedEntry): PullPlanned {
  const target = `${job.root}/${name}` as DatasetName;
  const plan: Plan = entry.kind === "up_to_date" ? { kind: "up_to_date", at: entry.at } : { kind: "skip", reason: NO_SNAPSHOTS };
  return { name, source: name as DatasetName, target, plan };
}

/** Keeps, for the next run, the marks of what is up to date now (those it may trust; unchanged.ts says which). */
function keepMarks(store: string, scope: string, before: UnchangedMarks, planned: readonly PullPlanned[], sides: PullSides): void {
  const next = new Map<string, UnchangedEntry>();
  for (const p of planned) {
    const entry = p.plan && (sides.unchanged.get(p.name) ?? sides.markable(p.name, p.target, p.plan));
    if (entry) next.set(p.name, entry);
  }
  if (next.size > 0 || before.size > 0) saveUnchanged(store, scope, next);
}

async function planFilesystem(
  runner: ZfsRunner,
  args: { job: PullJobConfig; name: string; node: RemoteTreeNode; local: LocalTree; planOptions: Parameters<typeof planReplication>[2] },
): Promise<PullPlanned> {
  const { job, name, node, local, planOptions } = args;
  let source = name as DatasetName;
  let target = name as DatasetName;
  try {
    source = parseDatasetName(name);
    target = parseDatasetName(`${job.root}/${name}`);
    const here = local.get(target);
    // The one await comes first: ten thousand filesystems are planned at once, and versions read
    // before an await would all be held together.
    const resume = await partialReceive(runner, here);
    const plan =
      upToDateAtNewest(newestSnapshot(node.versions, planVersionOfEntry), newestSnapshot(here?.versions ?? [], planVersionOf), { resume }) ??
      planReplication(planInput(node.versions, planVersionOfEntry), localTarget(target, here, resume), planOptions);
    const estimates = plan.kind === "replicate" ? plan.steps.map((step) => estimateStep(node, step)) : undefined;
    const props = here?.dataset.properties;
    const staysConfined =
      plan.kind === "replicate" &&
      !job.receive.properties &&
      !job.send.properties &&
      plan.steps.every((s) => s.kind === "incremental" && !s.intermediates?.length) &&
      props !== undefined &&
      isConfined(props, job.receive);
    return { name, source, target, plan, staysConfined, ...(estimates ? { estimates } : {}) };
  } catch (err) {
    return { name, source, target, plan: null, error: (err as Error).message };
  }
}

/** A partial receive on the target, its token decoded (one zfs run, only where there is one). */
async function partialReceive(runner: ZfsRunner, node: TreeNode | undefined): Promise<PlanResume | null> {
  const token = node?.dataset.resumeToken;
  if (!token) return null;
  const info = await decodeResumeToken(runner, token);
  return { token, toguid: info.toguid, ...(info.fromguid === undefined ? {} : { fromguid: info.fromguid }) };
}

/** The target as the planner sees it. */
function localTarget(target: DatasetName, node: TreeNode | undefined, resume: PlanResume | null): PlanTarget {
  if (!node) return { name: target, exists: false, placeholder: false, versions: [] };
  return { name: target, exists: true, placeholder: node.dataset.placeholder, versions: planInput(node.versions, planVersionOf), resume };
}

/**
 * What a step moves, from the listing: a full stream about the snapshot's `referenced`, an
 * incremental the `written` of each snapshot it brings. Null where zfs has no such number
 * (zfs-fuse has no `written`) and for a resumed stream.
 */
function estimateStep(node: RemoteTreeNode, step: Step): bigint | null {
  if (step.kind === "resume") return null;
  const byGuid = (guid: bigint) => node.versions.find((v) => v.guid === guid && v.type === "snapshot");
  const sizes = step.kind === "full" ? [byGuid(step.to.guid)?.referenced] : [...(step.intermediates ?? []), step.to].map((snap) => byGuid(snap.guid)?.written);
  return sizes.every((size) => size !== undefined) ? BigInt(sizes.reduce((a, b) => a + b, 0)) : null;
}
