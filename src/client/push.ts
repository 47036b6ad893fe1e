/**
 * `zferry push JOB`: send the job's local filesystems into the server's receive_root for our
 * identity (`<receive_root>/<local name>`). The server creates missing parents as placeholders and
 * refuses anything that would overwrite; this side plans by GUID exactly as a pull does, with the
 * server's copy as the target.
 *
 * A resume token from the server is client input to nothing but our own `zfs send -t`, and a
 * crafted one could make it send another dataset or drop raw mode (openzfs#14153 seen from the
 * other side), so it is decoded here first and must name the very dataset being pushed.
 */
import type { FilesystemEntry } from "../api/index.ts";
import type { Config, PushJobConfig } from "../config/index.ts";
import { RpcError } from "../rpc/index.ts";
import { ZfsRunner, decodeResumeToken, estimateSendSize, listFilesystems, listVersions, quote, type DatasetName, type ZfsCapabilities } from "../zfs/index.ts";
import { allSettled } from "./_settled.ts";
import { runPlanned, type PlannedFilesystem, type RunJobOptions } from "./job-runner.ts";
import { planReplication, planVersionOf, type PlanResume, type PlanTarget, type Step } from "./plan.ts";
import { pushSendRequest, pushStep } from "./push-step.ts";
import { agreeCompression } from "./wire-compression.ts";
import { explainRpcError, openJobSession, withLocalChecks, type JobSession } from "./session.ts";
import type { JobResult } from "./summary.ts";

/**
 * Runs a push job.
 * @throws Error with one line when the job cannot start at all (no connection, no receive_root)
 */
export async function runPush(config: Config, job: PushJobConfig, options: RunJobOptions): Promise<JobResult> {
  const { dryRun = false, output, signal, now = () => performance.now() } = options;
  const started = now();
  const runner = new ZfsRunner({ bin: config.zfs.bin });
  const [{ caps, names }, opened] = await withLocalChecks(openJobSession(config, job), checkLocalSide(runner, job));
  await using session = opened;
  const { info } = session;
  if (info.receive_root === undefined) {
    throw new Error(`The server has no receive_root for identity ${quote(info.identity)}: set receive_root in [clients.${info.identity}] of the server's config`);
  }
  let received: FilesystemEntry[];
  try {
    received = await session.remote.listReceived();
  } catch (err) {
    throw new Error(explainRpcError(err, info.identity), { cause: err });
  }
  const byName = new Map(received.map((e) => [e.name, e]));
  output.line(`push ${job.name}: ${names.length} filesystem${names.length === 1 ? "" : "s"} to ${session.label} into ${info.receive_root}${dryRun ? " (dry run)" : ""}`);

  const canResume = caps.resumable && info.capabilities.resumable;
  const planned: PushPlanned[] = [];
  for (const name of names) planned.push(await planFilesystem(session, runner, { job, name, entry: byName.get(name), caps, canResume, receiveRoot: info.receive_root }));

  const compression = agreeCompression(job, { info, flags: session.flags, note: output.line });
  const ctx = { remote: session.remote, runner, caps, resumable: canResume, send: job.send, progress: output.progress, signal, compression, bandwidthLimit: job.bandwidthLimit };
  // `return await`: the session must stay open until every filesystem is done (await using).
  return await runPlanned(planned, { action: "push", job: job.name, dryRun, output, signal, now, started, broken: session.broken }, async (p, moved) => {
    for (const [i, step] of p.plan.steps.entries()) {
      moved.bytes += await pushStep(ctx, { source: p.source, step, estimate: p.estimates?.[i] ?? null, moved });
      moved.snapshots++;
    }
  });
}

// --- internal ---

/** The local filesystems the job sends; found while the connection opens. */
async function checkLocalSide(runner: ZfsRunner, job: PushJobConfig): Promise<{ caps: ZfsCapabilities; names: DatasetName[] }> {
  const [caps, all] = await Promise.all([runner.capabilities(), listFilesystems(runner)]);
  const names = all.filter((ds) => job.filesystems.allows(ds)).sort();
  if (names.length === 0) throw new Error(`No local filesystem matches [jobs.${job.name}] filesystems = ${job.filesystems.toString()}`);
  return { caps, names };
}

interface PushPlanned extends PlannedFilesystem {
  readonly source: DatasetName;
}

async function planFilesystem(
  session: JobSession,
  runner: ZfsRunner,
  args: { job: PushJobConfig; name: DatasetName; entry: FilesystemEntry | undefined; caps: ZfsCapabilities; canResume: boolean; receiveRoot: string },
): Promise<PushPlanned> {
  const { job, name, entry, caps, canResume, receiveRoot } = args;
  try {
    // The local and the remote reads are independent: side by side.
    const [local, remote, resume] = await allSettled([
      listVersions(runner, name),
      entry ? session.remote.listVersions(name, { received: true }) : [],
      entry?.resume_token ? checkedResume(runner, name, { token: entry.resume_token, job }) : null,
    ]);
    const versions = local.map(planVersionOf);
    const target: PlanTarget = { name: `${receiveRoot}/${name}`, exists: entry !== undefined, placeholder: entry?.placeholder ?? false, versions: remote, resume };
    const plan = planReplication(versions, target, { initial: job.initial, canResume });
    const estimates = plan.kind === "replicate" && caps.sendEstimate ? await estimateSteps(runner, name, { steps: plan.steps, job }) : undefined;
    return { name, source: name, plan, ...(estimates ? { estimates } : {}) };
  } catch (err) {
    const message = err instanceof RpcError ? explainRpcError(err, session.info.identity) : (err as Error).message;
    return { name, source: name, plan: null, error: message };
  }
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

async function estimateSteps(runner: ZfsRunner, source: DatasetName, args: { steps: readonly Step[]; job: PushJobConfig }): Promise<(bigint | null)[]> {
  const out: (bigint | null)[] = [];
  for (const step of args.steps) {
    const request = step.kind === "resume" ? { token: step.token } : pushSendRequest(source, step, args.job.send);
    out.push(await estimateSendSize(runner, request));
  }
  return out;
}
