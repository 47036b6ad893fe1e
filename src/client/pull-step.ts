/**
 * One step of a pull: a local `zfs receive` fed by the server's `zfs send` (or a resumed send).
 * The stream's first record must carry the GUIDs of the plan before zfs receive gets a byte; where
 * it cannot show them all (a `-I` package), `verifyReceived` checks what arrived at the end of the
 * job. Never `-F`, except for a full stream into an empty zferry placeholder, where there is
 * nothing to lose (the server does the same).
 *
 * Which error wins: when the server's send failed, its message (the local receive only saw a cut
 * stream); when our receive failed first, the local zfs message ("has been modified …").
 */
import type { SendArgs, WireSendFlag } from "../api/index.ts";
import { StreamError, newRequestId, type BodySink, type ProgressProbe, type ReceivedBody } from "../rpc/index.ts";
import { closeQuietly } from "../sys/pipe.ts";
import {
  STREAM_HEADER_BYTES,
  StreamRefusedError,
  checkStreamHead,
  confinedReceive,
  decodeStreamHeader,
  parseVersionShortName,
  quote,
  recvArgv,
  startZfsRecv,
  versionOf,
  zfsChildError,
  type DatasetName,
  type VersionName,
  type ReceivePolicy,
  type StreamHeader,
  type ZfsCapabilities,
  type ZfsChildResult,
  type ZfsRunner,
  type WireCompression,
} from "../zfs/index.ts";
import type { Step } from "./plan.ts";
import { pullStepDecompressed } from "./pull-step-decompressed.ts";
import type { Progress } from "./progress.ts";
import type { RemoteSession } from "./remote.ts";

/** How long `zfs receive` may take to fail after a failed transfer before it is killed. */
const RECV_EXIT_GRACE_MS = 30_000;

export interface PullStepContext {
  readonly remote: RemoteSession;
  readonly runner: ZfsRunner;
  readonly caps: ZfsCapabilities;
  /** Receive with `-s`: both sides can resume. */
  readonly resumable: boolean;
  readonly flags: readonly WireSendFlag[];
  /** What the streams may set on the target (the job's `receive`). */
  readonly policy: ReceivePolicy;
  /** Where the policy is configured, for a refusal's message. */
  readonly allowHint: string;
  readonly progress: Progress;
  readonly signal?: AbortSignal;
  /** Wire compression agreed for this run (wire-compression.ts); none when absent. */
  readonly compression?: WireCompression | null;
  /** The job's bandwidth_limit in wire bytes per second: the server paces its send to it. */
  readonly bandwidthLimit?: number;
}

/** The call arguments a step adds for the job's compression and bandwidth limit. */
export function streamArgs(ctx: PullStepContext): { compression?: WireCompression; bandwidth_limit?: number } {
  return { ...(ctx.compression ? { compression: ctx.compression } : {}), ...(ctx.bandwidthLimit ? { bandwidth_limit: ctx.bandwidthLimit } : {}) };
}

/**
 * What `zfs receive` is given: the snapshot to create, or the filesystem for a resumed stream and
 * a `-I` stream of several snapshots, which name their snapshots themselves.
 */
export function receiveTargetOf(target: DatasetName, step: Step): DatasetName | VersionName {
  const several = step.kind === "incremental" && (step.intermediates?.length ?? 0) > 0;
  return step.kind === "resume" || several ? target : versionOf(target, "snapshot", parseVersionShortName(step.to.name));
}

export interface StepResult {
  /** Stream bytes received. */
  readonly bytes: number;
  /** The stream's first record showed the GUID of the one snapshot it brought. */
  readonly checked: boolean;
}

export interface StepArgs {
  readonly source: DatasetName;
  readonly target: DatasetName;
  readonly step: Step;
  /** `-F`: a full stream into an empty placeholder. */
  readonly force: boolean;
  /** The target is confined already and this step cannot change that (pull.ts, staysConfined). */
  readonly confined: boolean;
  readonly estimate: bigint | null;
  readonly moved?: { wireBytes?: number; requests?: string[] };
}

/** How a step's `zfs receive` runs. */
export interface ReceiveCommand {
  /** The argv it starts with, before the stream's first record is seen. */
  readonly argv: string[];
  /** The first record must pass checkStreamHead before zfs receive gets a byte. */
  readonly gate: boolean;
  /** The argv a stream with this first record needs: `argv`, or one that adds `-x` (needsExclude). */
  argvFor(header: StreamHeader): string[];
}

/**
 * The `zfs receive` of a step. Confinement (zfs/confine.ts) goes into the receive itself where
 * zfs can (not a resumed one: it continues saved state; pull.ts confines that after the receive).
 * A new dataset starts without `-x`, which only a stream with properties needs (the step then
 * restarts the receive with it). Where zfs cannot confine, or where the target is confined already
 * and a stream without properties keeps it so, the first record decides whether `zfs receive`
 * starts at all (`gate`): a source server may send properties whatever the job asked for.
 */
export function receiveCommand(ctx: PullStepContext, args: { target: DatasetName | VersionName; step: Step; force: boolean; confined: boolean }): ReceiveCommand {
  const { target, step, force, confined } = args;
  const canConfine = ctx.caps.recvExclude && ctx.caps.recvProperties;
  const request = { target, resumable: ctx.resumable, noMount: ctx.caps.recvNoMount, force };
  const gate = !ctx.caps.recvExclude || (confined && step.kind !== "resume");
  if (!canConfine || step.kind === "resume" || confined) {
    const argv = recvArgv(request, ctx.caps);
    return { argv, gate, argvFor: () => argv };
  }
  const receive = confinedReceive(request, { policy: ctx.policy, wasPlaceholder: force, createsDataset: step.kind === "full" && !force }, ctx.caps);
  // A job that asks for properties gets a package: its receive has -x from the start.
  if (ctx.flags.includes("properties")) return { argv: receive.whole, gate, argvFor: () => receive.whole };
  return { argv: receive.lean, gate, argvFor: receive.forHeader };
}

/** The send request for a step that is not a resume. */
export function sendArgsFor(source: DatasetName, step: Exclude<Step, { kind: "resume" }>, flags: readonly WireSendFlag[]): SendArgs {
  const args: SendArgs = { dataset: source, to: parseVersionShortName(step.to.name), to_guid: step.to.guid };
  const withFlags = flags.length > 0 ? { ...args, flags: [...flags] } : args;
  if (step.kind === "full") return withFlags;
  const from = { ...withFlags, from: { name: parseVersionShortName(step.from.name, step.from.kind), kind: step.from.kind }, from_guid: step.from.guid };
  return step.intermediates?.length ? { ...from, intermediates: true } : from;
}

/**
 * Runs one step; resolves once `zfs receive` has succeeded, with the stream bytes received and
 * whether the stream's first record vouched for the GUID of what arrived (checkStepHead).
 * @throws Error (ZfsError, RpcError, StreamError-derived) with a one-line reason
 */
export async function pullStep(ctx: PullStepContext, args: StepArgs): Promise<StepResult> {
  if (ctx.compression) return pullStepDecompressed({ ...ctx, compression: ctx.compression }, args);
  const { source, target, step, force, estimate } = args;
  const to = parseVersionShortName(step.to.name);
  const several = step.kind === "incremental" && (step.intermediates?.length ?? 0) > 0;
  const recvTarget = receiveTargetOf(target, step);
  const command = receiveCommand(ctx, { target: recvTarget, step, force, confined: args.confined });
  let argv = command.argv;
  const subject = `receive ${quote(`${target}@${to}`)}`;
  const probe: ProgressProbe = { bytes: () => 0 };
  const label = `${source}@${step.kind === "incremental" ? `${step.from.name} → ${to}${several ? ` (${step.intermediates!.length + 1} snapshots)` : ""}` : to}`;
  // zfs receive starts now, beside the send request, even for a gated stream: it reads nothing
  // before the first record, so until the gate hands it the stream it has done nothing, and one
  // that never gets a byte is killed. Its start-up overlaps the server's instead of following it.
  let recv = startZfsRecv(ctx.runner.bin, argv);
  let fed = false;
  let checked = false;
  const open = async (head: Uint8Array) => {
    const seen = checkStepHead(ctx, { step, subject, gate: command.gate }, head);
    checked = seen.vouched;
    const needed = command.argvFor(seen.header);
    if (needed !== argv) {
      // A stream with properties: the receive started for one without is replaced before it read a byte.
      await recv.kill("SIGKILL");
      closeQuietly(recv.writeFd);
      argv = needed;
      recv = startZfsRecv(ctx.runner.bin, argv);
    }
    fed = true;
    return { fd: recv.writeFd };
  };
  const sink: BodySink = { headBytes: STREAM_HEADER_BYTES, open };
  const line = ctx.progress.start({ label, estimate, probe });
  let received: ReceivedBody | null = null;
  let failure: unknown = null;
  let result: ZfsChildResult | null = null;
  try {
    try {
      const requestId = newRequestId(); // printed with a failure and in --json, logged by the server
      args.moved?.requests?.push(requestId);
      const options = { signal: ctx.signal, probe, requestId };
      received =
        step.kind === "resume"
          ? await ctx.remote.resumeSend(step.token, [], sink, { ...options, bandwidthLimit: ctx.bandwidthLimit })
          : await ctx.remote.send({ ...sendArgsFor(source, step, ctx.flags), ...streamArgs(ctx) }, sink, options);
    } catch (err) {
      failure = err;
    }
    if (!fed) {
      // Refused from its first record, or the send failed before it: no byte reached zfs receive.
      await recv.kill("SIGKILL");
      closeQuietly(recv.writeFd);
    } else {
      closeQuietly(recv.writeFd); // EOF: zfs receive finishes, or fails on a cut stream
      // zfs receive has EOF now: it finishes (the progress line stays up while it digests what is
      // still in its pipe, however long that takes), or fails on the cut stream and cleans up after
      // itself; killing it could return before the zfs-fuse daemon removed a partial dataset, so it
      // is killed only if it hangs after a failed transfer.
      const exited = failure === null ? await recv.done() : await Promise.race([recv.done(), Bun.sleep(RECV_EXIT_GRACE_MS).then(() => null)]);
      result = exited ?? (await recv.kill("SIGTERM"));
    }
  } finally {
    line.stop();
  }
  // No zfs receive: the stream was refused from its first record, or failed before it.
  if (result === null) {
    if (failure instanceof StreamError) throw new Error(`${subject}: the server's send failed: ${failure.message}`, { cause: failure });
    throw failure ?? new Error(`${subject}: the stream ended before its first record`);
  }
  throwStepFailure(subject, failure, zfsChildError(argv, result, { subject }), received!);
  return { bytes: received!.bytes, checked };
}

/**
 * A step's stream judged by its first record, before zfs receive gets a byte of it. Where the
 * receive cannot confine it (`gate`), a stream that carries properties is refused
 * (checkStreamHead). A substream must carry the GUIDs the step was planned with, so a server that
 * sends another snapshot than it was asked for is refused, not received. Returns the record, and
 * whether it vouches for everything the step brings (one snapshot, its GUID seen): zfs receive
 * gives a received snapshot the GUID of its stream, so the job's final listing need not check it.
 * @throws StreamRefusedError
 */
export function checkStepHead(ctx: PullStepContext, args: { step: Step; subject: string; gate: boolean }, head: Uint8Array): { header: StreamHeader; vouched: boolean } {
  const { step, subject } = args;
  const refuse = (why: string) => new StreamRefusedError(`${subject}: refused the stream: ${why}`);
  let header: StreamHeader;
  if (args.gate) header = checkStreamHead(head, { policy: ctx.policy, subject, allowHint: ctx.allowHint });
  else {
    try {
      [header] = decodeStreamHeader(head);
    } catch (err) {
      throw refuse((err as Error).message);
    }
  }
  // A package (-I, -p) names no GUID in its first record: the final listing checks what it brought.
  if (header.kind !== "substream") return { header, vouched: false };
  const from = step.kind === "full" ? 0n : (step.from?.guid ?? 0n);
  if (header.fromguid !== from) throw refuse(`its incremental source has GUID ${header.fromguid}, not ${from} as planned`);
  if (step.kind === "incremental" && (step.intermediates?.length ?? 0) > 0) return { header, vouched: false };
  if (header.toguid !== step.to.guid) throw refuse(`it holds the snapshot with GUID ${header.toguid}, not ${step.to.guid} as planned`);
  return { header, vouched: true };
}

/**
 * Which failure of a step is reported, once both ends are over: the server's failed send, unless
 * it failed because our sink did and `zfs receive` said why; then the transfer's own failure,
 * then `zfs receive`'s, then our sink's. Returns when the step succeeded.
 */
export function throwStepFailure(subject: string, failure: unknown, recvError: Error | null, received: ReceivedBody): void {
  if (failure instanceof StreamError) {
    if (failure.sinkError !== null && recvError) throw recvError;
    throw new Error(`${subject}: the server's send failed: ${failure.message}`, { cause: failure });
  }
  if (failure !== null) throw failure;
  if (recvError) throw recvError;
  if (received.sinkError !== null) throw new Error(`${subject}: ${received.sinkError}`);
}
