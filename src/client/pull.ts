/**
 * `zferry pull JOB`: replicate what a stdinserver offers into `<root>/<remote name>` here.
 *
 * Per filesystem, in name order (parents first): list the source's versions over RPC and the
 * target's here, plan by GUID (plan.ts), create missing parents as unmounted placeholders, then
 * receive step by step, verifying each snapshot's GUID. A filesystem that fails does not stop the
 * others.
 *
 * Every zfs command and round trip costs a process start or more, so what does not depend on
 * another runs alongside it: the local checks with the connection, the local listing of a target
 * with the remote one, the last snapshot's check with marking the target received.
 */
import type { Config, PullJobConfig } from "../config/index.ts";
import { RpcError } from "../rpc/index.ts";
import {
  confineReceived,
  listFilesystems,
  parseDatasetName,
  removePlaceholders,
  parseVersionShortName,
  quote,
  ZfsError,
  ZfsRunner,
  type DatasetName,
  type ZfsCapabilities,
} from "../zfs/index.ts";
import { allSettled } from "./_settled.ts";
import { runPlanned, type PlannedFilesystem, type RunJobOptions } from "./job-runner.ts";
import { inspectLocalTarget, prepareParents } from "./local-target.ts";
import { planReplication, type Step } from "./plan.ts";
import { pullStep, sendArgsFor, verifyReceived } from "./pull-step.ts";
import { explainRpcError, openJobSession, withLocalChecks, type JobSession } from "./session.ts";
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
  const [{ caps, existing }, opened] = await withLocalChecks(openJobSession(config, job), checkLocalSide(runner, job));
  await using session = opened;
  const names = await selectFilesystems(session, job);
  output.line(`pull ${job.name}: ${names.length} filesystem${names.length === 1 ? "" : "s"} from ${session.label} into ${job.root}${dryRun ? " (dry run)" : ""}`);

  const canResume = caps.resumable && session.info.capabilities.resumable;
  const planned: PullPlanned[] = [];
  for (const name of names) planned.push(await planFilesystem(session, runner, { job, name, existing, canResume }));

  const allowHint = `receive = { properties = true } in [jobs.${job.name}]`;
  const policy = job.receive;
  const compression = agreeCompression(job, { info: session.info, flags: session.flags, note: output.line });
  const ctx = { remote: session.remote, runner, caps, resumable: canResume, flags: session.flags, policy, allowHint, progress: output.progress, signal, compression, bandwidthLimit: job.bandwidthLimit };
  // `return await`: the session must stay open until every filesystem is done (await using).
  return await runPlanned(planned, { action: "pull", job: job.name, dryRun, output, signal, now, started, broken: session.broken }, async (p, moved) => {
    const { source, target } = p;
    const created = await prepareParents(runner, target, { root: job.root, existing, caps });
    let failure: unknown = null;
    let received = 0; // receives zfs finished; `moved.snapshots` counts those whose GUID checked out
    let lastCheck: Promise<void> = Promise.resolve();
    try {
      const steps = p.plan.steps;
      for (const [i, step] of steps.entries()) {
        const force = i === 0 && step.kind === "full" && p.plan.intoPlaceholder;
        moved.bytes += await pullStep(ctx, { source, target, step, force, estimate: p.estimates?.[i] ?? null, moved });
        received++;
        existing.add(target);
        // The next step builds on this snapshot, so it is checked first; the last one is checked
        // while the target is marked received.
        const check = verifyReceived(runner, target, { name: parseVersionShortName(step.to.name), guid: step.to.guid }).then(() => void moved.snapshots++);
        if (i < steps.length - 1) await check;
        else lastCheck = check;
      }
    } catch (err) {
      failure = err;
    }
    // What arrived is kept and confined even when a later step failed. A receive with `-x`/`-o`
    // (pull-step.ts) did that itself; a resumed one and zfs without them need it done after.
    const confinedByReceive = caps.recvExclude && caps.recvProperties && !p.plan.steps.some((s) => s.kind === "resume");
    const marked = received > 0 && !confinedByReceive ? confineReceived(runner, target, { policy, wasPlaceholder: p.plan.intoPlaceholder }) : Promise.resolve();
    for (const settled of await Promise.allSettled([lastCheck, marked])) {
      if (settled.status === "rejected") failure ??= settled.reason;
    }
    if (failure === null) return;
    // Nothing arrived: the placeholders made for this filesystem go again (those that hold
    // something, such as a partial receive kept for resuming, stay).
    if (received === 0 && created.length > 0) {
      // A cleanup that fails keeps them counted as existing; the step's failure is what is reported.
      const kept = new Set<string>(await removePlaceholders(runner, created).catch(() => created));
      for (const ds of created) if (!kept.has(ds)) existing.delete(ds);
    }
    throw failure;
  });
}

// --- internal ---

/** What the local side must have before anything is planned; checked while the connection opens. */
async function checkLocalSide(runner: ZfsRunner, job: PullJobConfig): Promise<{ caps: ZfsCapabilities; existing: Set<string> }> {
  const caps = await runner.capabilities();
  let existing: Set<string>;
  try {
    existing = new Set<string>(await listFilesystems(runner, job.root));
  } catch (err) {
    if (err instanceof ZfsError && err.isDatasetMissing) {
      throw new Error(`The job's root ${quote(job.root)} does not exist here: create it first, e.g. "zfs create -o mountpoint=none ${job.root}"`);
    }
    throw err;
  }
  if (job.send.properties && !caps.recvExclude && !job.receive.properties) {
    throw new Error(
      `send.properties would let the source decide where received datasets are mounted: this zfs cannot keep properties out of the receive (no "zfs receive -x"); ` +
        `turn it off in [jobs.${job.name}.send], or accept them with receive = { properties = true } in [jobs.${job.name}]`,
    );
  }
  return { caps, existing };
}

interface PullPlanned extends PlannedFilesystem {
  readonly source: DatasetName;
  readonly target: DatasetName;
}

/** What the server offers, narrowed by the job's filter, parents first. */
async function selectFilesystems(session: JobSession, job: PullJobConfig): Promise<string[]> {
  const identity = session.info.identity;
  let offered;
  try {
    offered = await session.remote.listFilesystems();
  } catch (err) {
    throw new Error(explainRpcError(err, identity), { cause: err });
  }
  if (offered.length === 0) {
    throw new Error(`The server offers no filesystems to identity ${quote(identity)}: check filesystems in [clients.${identity}] of the server's config`);
  }
  const names = offered.map((e) => e.name).filter((name) => job.filesystems.allows(name));
  if (names.length === 0) {
    throw new Error(`None of the ${offered.length} filesystems the server offers matches [jobs.${job.name}] filesystems = ${job.filesystems.toString()}`);
  }
  return names.sort();
}

async function planFilesystem(
  session: JobSession,
  runner: ZfsRunner,
  args: { job: PullJobConfig; name: string; existing: Set<string>; canResume: boolean },
): Promise<PullPlanned> {
  const { job, name, existing, canResume } = args;
  let source = name as DatasetName;
  let target = name as DatasetName;
  try {
    source = parseDatasetName(name);
    target = parseDatasetName(`${job.root}/${name}`);
    const [versions, local] = await allSettled([session.remote.listVersions(source), inspectLocalTarget(runner, target, { exists: existing.has(target) })]);
    const plan = planReplication(versions, local, { initial: job.initial, canResume });
    const estimates = plan.kind === "replicate" && session.info.capabilities.send_estimate ? await estimateSteps(session, source, plan.steps) : undefined;
    return { name, source, target, plan, ...(estimates ? { estimates } : {}) };
  } catch (err) {
    const message = err instanceof RpcError ? explainRpcError(err, session.info.identity) : (err as Error).message;
    return { name, source, target, plan: null, error: message };
  }
}

async function estimateSteps(session: JobSession, source: DatasetName, steps: readonly Step[]): Promise<(bigint | null)[]> {
  const out: (bigint | null)[] = [];
  for (const step of steps) {
    out.push(step.kind === "resume" ? null : await session.remote.estimateSend(sendArgsFor(source, step, session.flags)));
  }
  return out;
}
