/**
 * One step of a push: a local `zfs send` (or `zfs send -t TOKEN` to resume) streamed into the
 * server's `receive`, which lands it at receive_root/<dataset>; then the GUID the server reports
 * is compared with ours.
 */
import type { ReceiveArgs } from "../api/index.ts";
import type { SendOptions } from "../config/index.ts";
import { newRequestId, type ProgressProbe } from "../rpc/index.ts";
import {
  parseVersionShortName,
  quote,
  resumeSendArgv,
  sendArgv,
  startSendStream,
  versionOf,
  type DatasetName,
  type SendFlags,
  type SendRequest,
  type ZfsCapabilities,
  type ZfsRunner,
  type WireCompression,
} from "../zfs/index.ts";
import type { Step } from "./plan.ts";
import type { Progress } from "./progress.ts";
import type { RemoteSession } from "./remote.ts";

export interface PushStepContext {
  readonly remote: RemoteSession;
  readonly runner: ZfsRunner;
  readonly caps: ZfsCapabilities;
  /** Ask the server for `zfs recv -s` (we can resume with `zfs send -t`). */
  readonly resumable: boolean;
  readonly send: SendOptions;
  readonly progress: Progress;
  readonly signal?: AbortSignal;
  /** Wire compression agreed for this run (wire-compression.ts); none when absent. */
  readonly compression?: WireCompression | null;
  /** The job's bandwidth_limit in wire bytes per second: our send is paced to it. */
  readonly bandwidthLimit?: number;
}

/** What a step sends, as the zfs layer takes it (for `sendArgv` and `estimateSendSize`). */
export function pushSendRequest(source: DatasetName, step: Exclude<Step, { kind: "resume" }>, send: SendOptions): SendRequest {
  const to = versionOf(source, "snapshot", parseVersionShortName(step.to.name));
  const from = step.kind === "incremental" ? versionOf(source, step.from.kind, parseVersionShortName(step.from.name, step.from.kind)) : undefined;
  return { to, ...(from ? { from } : {}), flags: sendFlags(send) };
}

/** The local `zfs send` argv for a step. */
export function pushSendArgv(source: DatasetName, step: Step, options: { caps: ZfsCapabilities; send: SendOptions }): string[] {
  if (step.kind === "resume") return resumeSendArgv(step.token, options.caps);
  return sendArgv(pushSendRequest(source, step, options.send), options.caps);
}

/**
 * Runs one step; resolves with the stream bytes sent.
 * @throws RpcError with the server's reason, or Error when the GUIDs disagree
 */
export async function pushStep(ctx: PushStepContext, args: { source: DatasetName; step: Step; estimate: bigint | null; moved?: { wireBytes?: number; requests?: string[] } }): Promise<number> {
  const { source, step, estimate } = args;
  const argv = pushSendArgv(source, step, ctx);
  const snapshot = parseVersionShortName(step.to.name);
  const fromGuid = step.kind === "incremental" ? step.from.guid : step.kind === "resume" ? step.from?.guid : undefined;
  const request: ReceiveArgs = {
    dataset: source,
    snapshot,
    ...(fromGuid === undefined ? {} : { from_guid: fromGuid }),
    ...(ctx.resumable ? { resumable: true } : {}),
    ...(ctx.compression ? { compression: ctx.compression } : {}),
  };
  const probe: ProgressProbe = { bytes: () => 0 };
  const label = `${source}@${step.kind === "incremental" ? `${step.from.name} → ${snapshot}` : snapshot}`;
  const producer = startSendStream(ctx.runner.bin, argv, { compression: ctx.compression }); // an OctetProducer by shape
  const onAbort = () => producer.abort("interrupted");
  ctx.signal?.addEventListener("abort", onAbort);
  if (ctx.signal?.aborted) onAbort();
  const streamed = () => producer.streamBytes() ?? probe.bytes();
  const line = ctx.progress.start({ label, estimate, probe, ...(ctx.compression ? { stream: streamed } : {}) });
  const requestId = newRequestId(); // printed with a failure and in --json, logged by the server
  args.moved?.requests?.push(requestId);
  let landed;
  try {
    landed = await ctx.remote.receive(request, ctx.bandwidthLimit ? { ...producer, rateBytes: ctx.bandwidthLimit } : producer, probe, requestId);
  } finally {
    line.stop();
    ctx.signal?.removeEventListener("abort", onAbort);
    await producer.dispose();
  }
  if (landed.guid !== step.to.guid) {
    throw new Error(`receive ${quote(`${landed.target}@${snapshot}`)}: the server reports GUID ${landed.guid ?? "(none)"}, ours is ${step.to.guid}`);
  }
  if (args.moved && ctx.compression) args.moved.wireBytes = (args.moved.wireBytes ?? 0) + probe.bytes();
  return streamed();
}

/** The job's `[send]` table as zfs send flags. */
export function sendFlags(send: SendOptions): SendFlags {
  return { raw: send.raw, compressed: send.compressed, largeBlocks: send.large_blocks, embedded: send.embedded, properties: send.properties };
}
