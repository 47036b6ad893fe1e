/**
 * `zferry pull JOB`: replicate what a stdinserver offers into `<root>/<remote name>` here.
 *
 * Planning costs one listing per side, whatever the number of filesystems: the server's whole
 * offered tree in one `list_tree` call, the target tree here in one `zfs list` (tree-listing.ts).
 * Each filesystem is then planned by GUID (plan.ts) and the changed ones are received
 * `concurrency` at a time, parents before children, each worker on its own connection
 * (lanes.ts). A filesystem's receive is one `zfs receive` of one stream (`-I` where this zfs can
 * confine it in the receive); what arrived is checked against the source's GUIDs in one more
 * listing at the end. A filesystem that fails does not stop the others.
 */
import type { Config, PullJobConfig } from "../config/index.ts";
import {
  CONFINEMENT_PROPERTIES,
  confineReceived,
  decodeResumeToken,
  isConfined,
  parseDatasetName,
  quote,
  readTree,
  removePlaceholders,
  ZfsError,
  ZfsRunner,
  type DatasetName,
  type TreeNode,
  type ZfsCapabilities,
} from "../zfs/index.ts";
import { runPlanned, type PlannedFilesystem, type RunJobOptions } from "./job-runner.ts";
import { jobLanes, openFirstLane } from "./lanes.ts";
import { prepareParents } from "./local-target.ts";
import { planReplication, type PlanTarget, type Step } from "./plan.ts";
import { pullStep } from "./pull-step.ts";
import { verifyReceived, type Received } from "./received-check.ts";
import type { RemoteTree, RemoteTreeNode } from "./remote-tree.ts";
import { explainRpcError, withLocalChecks, type JobSession } from "./session.ts";
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
  const [{ caps, local }, first] = await withLocalChecks(openFirstLane(config, job), checkLocalSide(runner, job));
  await using _first = { [Symbol.asyncDispose]: () => first.close() };
  const session = first.session;
  const offered = await listOffered(session, job);
  const names = [...offered.keys()].sort();
  output.line(`pull ${job.name}: ${names.length} filesystem${names.length === 1 ? "" : "s"} from ${session.label} into ${job.root}${dryRun ? " (dry run)" : ""}`);

  const canResume = caps.resumable && session.info.capabilities.resumable;
  // `-I` streams are compound on old zfs, which the stream gate there refuses (zfs/confine.ts).
  const planOptions = { initial: job.initial, canResume, intermediates: caps.recvExclude };
  const planned: PullPlanned[] = await Promise.all(names.map((name) => planFilesystem(runner, { job, name, node: offered.get(name)!, local, planOptions })));
  const existing = new Set<string>(local.keys());

  const allowHint = `receive = { properties = true } in [jobs.${job.name}]`;
  const policy = job.receive;
  const compression = agreeCompression(job, { info: session.info, flags: session.flags, note: output.line });
  // Siblings may share a missing parent: placeholders are made one filesystem at a time.
  const parents = serial();
  const received: Received[] = [];
  await using lanes = jobLanes(config, job, session, first.share);
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
      settle: () => verifyReceived(runner, job.root, received),
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
          moved.bytes += await pullStep(ctx, { source, target, step, force, estimate: p.estimates?.[i] ?? null, moved });
          arrived++;
          existing.add(target);
          const snapshots = [...(step.kind === "incremental" ? (step.intermediates ?? []) : []), step.to];
          moved.snapshots += snapshots.length;
          received.push({ target, name: p.name, snapshots });
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

type LocalTree = Map<string, TreeNode>;

/** What the local side must have before anything is planned; read while the connection opens. */
async function checkLocalSide(runner: ZfsRunner, job: PullJobConfig): Promise<{ caps: ZfsCapabilities; local: LocalTree }> {
  const caps = await runner.capabilities();
  if (job.send.properties && !caps.recvExclude && !job.receive.properties) {
    throw new Error(
      `send.properties would let the source decide where received datasets are mounted: this zfs cannot keep properties out of the receive (no "zfs receive -x"); ` +
        `turn it off in [jobs.${job.name}.send], or accept them with receive = { properties = true } in [jobs.${job.name}]`,
    );
  }
  try {
    // Old zfs lists with `zfs get`: the confined properties come with it, so that a target they
    // already confine needs no `zfs get` after each receive (see staysConfined).
    return { caps, local: await readTree(runner, job.root, { placeholders: true, properties: CONFINEMENT_PROPERTIES }) };
  } catch (err) {
    if (err instanceof ZfsError && err.isDatasetMissing) {
      throw new Error(`The job's root ${quote(job.root)} does not exist here: create it first, e.g. "zfs create -o mountpoint=none ${job.root}"`);
    }
    throw err;
  }
}

interface PullPlanned extends PlannedFilesystem {
  readonly source: DatasetName;
  readonly target: DatasetName;
  /**
   * The target is confined already and its plan cannot change that: incremental streams only,
   * which the stream gate lets through only without properties (zfs without `receive -x`).
   */
  readonly staysConfined?: boolean;
}

/** What the server offers, narrowed by the job's filter. */
async function listOffered(session: JobSession, job: PullJobConfig): Promise<RemoteTree> {
  const identity = session.info.identity;
  let tree: RemoteTree;
  try {
    tree = await session.remote.listTree();
  } catch (err) {
    throw new Error(explainRpcError(err, identity), { cause: err });
  }
  if (tree.size === 0) {
    throw new Error(`The server offers no filesystems to identity ${quote(identity)}: check filesystems in [clients.${identity}] of the server's config`);
  }
  const offered: RemoteTree = new Map([...tree].filter(([name]) => job.filesystems.allows(name)));
  if (offered.size === 0) {
    throw new Error(`None of the ${tree.size} filesystems the server offers matches [jobs.${job.name}] filesystems = ${job.filesystems.toString()}`);
  }
  return offered;
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
    const versions = node.versions.map((v) => ({ name: v.name, kind: v.type, guid: v.guid, createtxg: v.createtxg }));
    const plan = planReplication(versions, await localTarget(runner, target, local.get(target)), planOptions);
    const estimates = plan.kind === "replicate" ? plan.steps.map((step) => estimateStep(node, step)) : undefined;
    const props = local.get(target)?.dataset.properties;
    const staysConfined =
      plan.kind === "replicate" && !job.receive.properties && plan.steps.every((s) => s.kind === "incremental") && props !== undefined && isConfined(props, job.receive);
    return { name, source, target, plan, staysConfined, ...(estimates ? { estimates } : {}) };
  } catch (err) {
    return { name, source, target, plan: null, error: (err as Error).message };
  }
}

/** The target as the planner sees it; a partial receive's token is decoded (one zfs run, only then). */
async function localTarget(runner: ZfsRunner, target: DatasetName, node: TreeNode | undefined): Promise<PlanTarget> {
  if (!node) return { name: target, exists: false, placeholder: false, versions: [] };
  const versions = node.versions.map((v) => ({ name: v.name.name, kind: v.name.kind, guid: v.guid, createtxg: v.createtxg }));
  const base = { name: target, exists: true, placeholder: node.dataset.placeholder, versions };
  const token = node.dataset.resumeToken;
  if (!token) return base;
  const info = await decodeResumeToken(runner, token);
  return { ...base, resume: { token, toguid: info.toguid, ...(info.fromguid === undefined ? {} : { fromguid: info.fromguid }) } };
}

/**
 * What a step moves, from the listing: a full stream about the snapshot's `referenced`, an
 * incremental the `written` of each snapshot it brings. Null where zfs has no such number
 * (zfs-fuse has no `written`) and for a resumed stream.
 */
function estimateStep(node: RemoteTreeNode, step: Step): bigint | null {
  if (step.kind === "resume") return null;
  const byGuid = (guid: bigint) => node.versions.find((v) => v.guid === guid && v.type === "snapshot");
  if (step.kind === "full") return byGuid(step.to.guid)?.referenced ?? null;
  let sum = 0n;
  for (const snap of [...(step.intermediates ?? []), step.to]) {
    const written = byGuid(snap.guid)?.written;
    if (written === undefined) return null;
    sum += written;
  }
  return sum;
}
