/**
 * receive (push): the request body streams into `zfs recv` at receive_root/<client dataset>.
 * zferry never destroys or rolls back: a full stream only lands where nothing exists (or in an
 * empty placeholder), an incremental one only on top of the target's newest snapshot.
 */
import { ENDPOINTS, receiveArgs, receiveResponse } from "../../api/index.ts";
import { RpcError, defineEndpoint, type IncomingOctets } from "../../rpc/index.ts";
import { closeQuietly } from "../../sys/pipe.ts";
import {
  createPlaceholder,
  ZfsError,
  getResumeToken,
  isPlaceholder,
  isSameOrBelow,
  listFilesystems,
  listVersions,
  markReceived,
  receivedProperties,
  parseDatasetName,
  quote,
  recvArgv,
  startZfsRecv,
  versionOf,
  zfsChildError,
  type DatasetName,
  type VersionName,
  type ZfsChildResult,
  type ZfsRecvProcess,
} from "../../zfs/index.ts";
import { receiveTarget, withZfsErrors, type ServerContext } from "../context.ts";
import { lockReceiveTarget } from "../receive-lock.ts";

/** How long `zfs recv` may take to fail on a truncated stream before it is killed. */
const RECV_EXIT_GRACE_MS = 30_000;

export function receiveEndpoint(ctx: ServerContext) {
  return defineEndpoint({
    name: ENDPOINTS.receive,
    args: receiveArgs,
    body: "octets",
    response: "value",
    async handle(args, h): Promise<ReturnType<typeof receiveResponse>> {
      const target = receiveTarget(ctx, args.dataset);
      using _lock = lockReceiveTarget(ctx, target); // before any zfs: a refusal changes nothing
      h.note.dataset = target;
      h.note.snapshot = args.snapshot;
      const resumable = (args.resumable ?? false) && ctx.caps.resumable;
      const below = await withZfsErrors(() => datasetsBelowRoot(ctx));
      const exists = below.has(target);
      // A resumed stream continues the partial state zfs kept (`recv -s`); zfs itself checks that
      // the stream matches it, and nothing is overwritten.
      const resuming = exists && resumable && (await withZfsErrors(() => getResumeToken(ctx.runner, target))) !== null;
      const force = resuming ? false : await withZfsErrors(() => checkTarget(ctx, target, exists, args.from_guid));
      await withZfsErrors(() => ensureParents(ctx, target, below));
      const snapshot = versionOf(target, "snapshot", args.snapshot);
      // The receive marks the target itself where zfs can (not a resumed one: it continues saved
      // state); otherwise a `zfs set` follows it, side by side with reading the new GUID.
      const markedByReceive = ctx.caps.recvProperties && !resuming;
      const properties = markedByReceive ? receivedProperties({ wasPlaceholder: force }) : {};
      const argv = await withZfsErrors(async () => recvArgv({ target: snapshot, force, resumable, noMount: ctx.caps.recvNoMount, properties }, ctx.caps));
      await withZfsErrors(() => receiveInto(ctx, argv, h.body, snapshot));
      const marked = markedByReceive ? Promise.resolve() : markReceived(ctx.runner, target, { wasPlaceholder: force });
      const [guid] = await withZfsErrors(() => Promise.all([receivedGuid(ctx, snapshot), marked]));
      return { target, guid };
    },
  });
}

/** Streams the request body into `zfs recv`; resolves once it has succeeded. */
async function receiveInto(ctx: ServerContext, argv: string[], body: IncomingOctets, snapshot: VersionName): Promise<void> {
  const what = snapshot.full;
  const proc = ctx.children.add(startZfsRecv(ctx.runner.bin, argv));
  let received;
  try {
    received = await body.pipeTo({ fd: proc.writeFd });
  } finally {
    closeQuietly(proc.writeFd); // EOF: zfs recv finishes (or fails on a truncated stream)
  }
  if (received.sinkError !== null) {
    // Writing into `zfs recv` failed (EPIPE: it exited early, e.g. on a bad stream), so the body
    // was cancelled with a RESET and drained, and the client's trailer only echoes that cancel:
    // zfs's own exit status and stderr are the reason.
    const result = await recvExit(ctx, proc);
    const err = result && zfsChildError(argv, result, { subject: `receive ${quote(what)}` });
    if (err) throw err;
    throw new RpcError("server_error", `receive ${quote(what)}: ${received.sinkError}`);
  }
  if (received.error !== null) {
    // The client's `zfs send` failed or it cancelled: nothing must look received. `zfs recv` sees
    // EOF on a truncated stream and fails, cleaning up after itself (with -s it keeps only a
    // resume token, which does not look complete). Killing it instead can return before the
    // zfs-fuse daemon has removed the partial dataset, so it is killed only if it hangs.
    await recvExit(ctx, proc);
    throw new RpcError("bad_request", `Nothing received into ${quote(what)}: the client's stream failed: ${received.error}`);
  }
  const result = await proc.done();
  ctx.children.remove(proc);
  const err = zfsChildError(argv, result, { subject: `receive ${quote(what)}` });
  if (err) throw err;
}

/** Waits for `zfs recv` to exit after its input ended; kills it (and gives null) if it hangs. */
async function recvExit(ctx: ServerContext, proc: ZfsRecvProcess): Promise<ZfsChildResult | null> {
  const exited = await Promise.race([proc.done(), Bun.sleep(RECV_EXIT_GRACE_MS).then(() => null)]);
  if (exited === null) await proc.kill("SIGTERM");
  ctx.children.remove(proc);
  return exited;
}

/** The GUID of the snapshot just received, which the client compares with its own. */
async function receivedGuid(ctx: ServerContext, snapshot: VersionName): Promise<bigint> {
  const snap = (await listVersions(ctx.runner, snapshot.dataset)).find((v) => v.name.full === snapshot.full);
  if (!snap) throw new RpcError("server_error", `receive ${quote(snapshot.full)}: zfs exited 0 but the snapshot is not there`);
  return snap.guid;
}

/**
 * Every filesystem at and below receive_root, in one `zfs list`.
 * @throws RpcError server_error when receive_root itself is missing
 */
async function datasetsBelowRoot(ctx: ServerContext): Promise<Set<string>> {
  const root = ctx.acl.receiveRoot!;
  try {
    return new Set<string>(await listFilesystems(ctx.runner, root));
  } catch (err) {
    if (err instanceof ZfsError && err.isDatasetMissing) throw new RpcError("server_error", `receive_root ${quote(root)} does not exist on the server`);
    throw err;
  }
}

/**
 * Checks that receiving here cannot overwrite anything. Returns whether `-F` is needed, which is
 * only for a full stream into an empty placeholder.
 */
async function checkTarget(ctx: ServerContext, target: DatasetName, exists: boolean, fromGuid: bigint | undefined): Promise<boolean> {
  if (fromGuid !== undefined) {
    if (!exists) throw new RpcError("conflict", `Cannot receive an incremental stream into ${quote(target)}: it does not exist (a full stream is needed)`);
    const snaps = (await listVersions(ctx.runner, target)).filter((v) => v.name.kind === "snapshot");
    const newest = snaps.at(-1);
    if (!newest || newest.guid !== fromGuid) {
      throw new RpcError(
        "conflict",
        `Cannot receive into ${quote(target)}: its newest snapshot ${newest ? quote(newest.name.full) : "(none)"} is not the incremental source (GUID ${fromGuid}); the target has diverged`,
      );
    }
    return false;
  }
  if (!exists) return false;
  if ((await isPlaceholder(ctx.runner, target)) && (await listVersions(ctx.runner, target)).length === 0) return true;
  throw new RpcError("conflict", `Cannot receive a full stream into ${quote(target)}: it already exists; zferry does not overwrite datasets`);
}

/** Creates missing datasets between receive_root and the target's parent as placeholders. */
async function ensureParents(ctx: ServerContext, target: DatasetName, existing: Set<string>): Promise<void> {
  const root = ctx.acl.receiveRoot!;
  const parts = target.slice(root.length + 1).split("/");
  let current = root as string;
  for (const part of parts.slice(0, -1)) {
    current = `${current}/${part}`;
    const ds = parseDatasetName(current);
    if (!isSameOrBelow(ds, root)) throw new RpcError("permission_denied", `${quote(ds)} is outside receive_root`);
    if (!existing.has(ds)) await createPlaceholder(ctx.runner, ds);
  }
}
