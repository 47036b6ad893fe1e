/**
 * A pull step whose stream arrives compressed: the server's send (through its zstd) into our
 * `zstd -d | zfs receive` (zfs/recv-stream.ts). Same rules as pull-step.ts: the decompressed
 * stream's first record is checked (checkStepHead) before zfs receive starts, and which error wins
 * is decided the same way, with the decompressor's failure first on our side.
 */
import { newRequestId, type ProgressProbe, type ReceivedBody } from "../rpc/index.ts";
import { closeQuietly } from "../sys/pipe.ts";
import {
  decompressedRecvError,
  parseVersionShortName,
  quote,
  startDecompressedRecv,
  type DecompressedRecv,
  type DecompressedRecvResult,
  type WireCompression,
} from "../zfs/index.ts";
import { checkStepHead, receiveCommand, receiveTargetOf, sendArgsFor, streamArgs, throwStepFailure, type PullStepContext, type StepArgs, type StepResult } from "./pull-step.ts";

/** How long the children may take to exit after a failed transfer before they are killed. */
const RECV_EXIT_GRACE_MS = 30_000;

/**
 * Runs one compressed step; resolves with the stream bytes received and adds the wire bytes to
 * `moved.wireBytes`, once `zfs receive` has succeeded.
 * @throws Error with a one-line reason
 */
export async function pullStepDecompressed(ctx: PullStepContext & { readonly compression: WireCompression }, args: StepArgs): Promise<StepResult> {
  const { source, target, step, force, estimate } = args;
  const to = parseVersionShortName(step.to.name);
  const recvTarget = receiveTargetOf(target, step);
  const command = receiveCommand(ctx, { target: recvTarget, step, force, confined: args.confined });
  const subject = `receive ${quote(`${target}@${to}`)}`;
  let checked = false;
  const gate = async (head: Uint8Array) => {
    const seen = checkStepHead(ctx, { step, subject, gate: command.gate }, head);
    checked = seen.vouched;
    return command.argvFor(seen.header);
  };
  const probe: ProgressProbe = { bytes: () => 0 };
  const label = `${source}@${step.kind === "incremental" ? `${step.from.name} → ${to}` : to}`;
  const recv: DecompressedRecv = startDecompressedRecv(ctx.runner.bin, command.argv, { gate });
  const line = ctx.progress.start({ label, estimate, probe, stream: () => recv.streamBytes() });
  const compression = ctx.compression;
  let received: ReceivedBody | null = null;
  let failure: unknown = null;
  let result: DecompressedRecvResult;
  try {
    try {
      const requestId = newRequestId(); // printed with a failure and in --json, logged by the server
      args.moved?.requests?.push(requestId);
      const options = { signal: ctx.signal, probe, requestId };
      const sink = { fd: recv.writeFd };
      received =
        step.kind === "resume"
          ? await ctx.remote.resumeSend(step.token, [], sink, { ...options, compression, bandwidthLimit: ctx.bandwidthLimit })
          : await ctx.remote.send({ ...sendArgsFor(source, step, ctx.flags), ...streamArgs(ctx) }, sink, options);
    } catch (err) {
      failure = err;
    } finally {
      closeQuietly(recv.writeFd); // EOF: zstd -d ends, then zfs receive finishes or fails on a cut stream
    }
    const exited = failure === null ? await recv.done() : await Promise.race([recv.done(), Bun.sleep(RECV_EXIT_GRACE_MS).then(() => null)]);
    result = exited ?? (await recv.kill("SIGTERM"));
  } finally {
    line.stop();
  }
  const refused = await recv.started.then(() => null, (err: unknown) => err);
  if (refused) throw refused;
  throwStepFailure(subject, failure, decompressedRecvError(recv, result, { subject }), received!);
  if (args.moved) args.moved.wireBytes = (args.moved.wireBytes ?? 0) + received!.bytes;
  return { bytes: recv.streamBytes(), checked };
}
