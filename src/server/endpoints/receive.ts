/**
 * receive (push): the request body streams into `zfs recv` at receive_root/<client dataset>.
 * zferry never destroys or rolls back: a full stream only lands where nothing exists (or in an
 * empty placeholder), an incremental one only on top of the target's newest snapshot.
 */
import { ENDPOINTS, receiveArgs, receiveResponse } from "../../api/index.ts";
import { RpcError, defineEndpoint } from "../../rpc/index.ts";
import {
  checkStreamHead,
  confineReceived,
  confinedReceive,
  createPlaceholder,
  decodeStreamHeader,
  isConfined,
  ZfsError,
  isSameOrBelow,
  listVersions,
  mountpointForChildOf,
  parseDatasetName,
  quote,
  recvArgv,
  versionOf,
  type DatasetName,
  type StreamHeader,
  type VersionName,
} from "../../zfs/index.ts";
import { receiveTarget, withZfsErrors, type ServerContext } from "../context.ts";
import { lockReceiveTarget } from "../receive-lock.ts";
import { forgetReceivedTree, noteReceived, receivedTree, type ReceivedNode, type ReceivedTree } from "../received-tree.ts";
import { receiveDecompressed } from "./_receive-decompressed.ts";
import { receiveStream } from "./_receive-stream.ts";
import { checkedCompression } from "./send.ts";

export function receiveEndpoint(ctx: ServerContext) {
  return defineEndpoint({
    name: ENDPOINTS.receive,
    args: receiveArgs,
    body: "octets",
    response: "value",
    async handle(args, h): Promise<ReturnType<typeof receiveResponse>> {
      const target = receiveTarget(ctx, args.dataset);
      const compression = checkedCompression(args.compression);
      using _lock = lockReceiveTarget(ctx, target); // before any zfs: a refusal changes nothing
      h.note.dataset = target;
      h.note.snapshot = args.snapshot;
      const resumable = (args.resumable ?? false) && ctx.caps.resumable;
      const below = await withZfsErrors(() => receivedTree(ctx));
      const node = below.get(target);
      // A resumed stream continues the partial state zfs kept (`recv -s`); zfs itself checks that
      // the stream matches it, and nothing is overwritten.
      const resuming = node !== undefined && resumable && node.dataset.resumeToken !== null;
      const force = resuming ? false : await checkTarget(ctx, target, node, args.from_guid);
      const snapshot = versionOf(target, "snapshot", args.snapshot);
      // Confinement (zfs/confine.ts): in the receive itself where zfs can (not a resumed one: it
      // continues saved state); otherwise a `zfs inherit`/`zfs set` follows it. An incremental
      // into a target the listing shows confined already needs neither, as long as its stream
      // carries no properties (pull.ts does the same, staysConfined). The stream's first record
      // decides whether it may start at all where the receive does not confine it.
      const policy = ctx.acl.receivePolicy;
      const props = node?.dataset.properties;
      const staysConfined = args.from_guid !== undefined && !resuming && !policy.properties && props !== undefined && isConfined(props, policy);
      const confinedByReceive = ctx.caps.recvExclude && ctx.caps.recvProperties && !resuming && !staysConfined;
      const request = { target: snapshot, force, resumable, noMount: ctx.caps.recvNoMount };
      // A new dataset from a substream needs no -x (needsExclude); the first record says which it is.
      const createsDataset = node === undefined && args.from_guid === undefined;
      const { confined, argv } = await withZfsErrors(async () => {
        const receive = confinedByReceive ? confinedReceive(request, { policy, wasPlaceholder: force, createsDataset }, ctx.caps) : null;
        return { confined: receive, argv: receive?.whole ?? recvArgv(request, ctx.caps) };
      });
      const allowHint = `receive = { properties = true } in [clients.${ctx.identity}] of the server's config`;
      const gated = !ctx.caps.recvExclude || staysConfined;
      // The first record is read in any case: a substream names the snapshot it creates (its GUID).
      let head: StreamHeader | null = null;
      const gate = (bytes: Uint8Array) => {
        head = gated ? checkStreamHead(bytes, { policy, subject: `receive ${quote(snapshot.full)}`, allowHint }) : readableHead(bytes);
        return confined ? confined.forHeader(head) : argv;
      };
      const streamOptions = { argv, snapshot, gate, prepare: (created: DatasetName[]) => ensureParents(ctx, target, below, created) };
      if (compression) h.note.compression = `${compression.type}-${compression.level}`;
      let guid: bigint;
      try {
        await withZfsErrors(() => (compression ? receiveDecompressed(ctx, h.body, { ...streamOptions, note: h.note }) : receiveStream(ctx, h.body, streamOptions)));
        const marked = confinedByReceive || staysConfined ? Promise.resolve() : confineReceived(ctx.runner, target, { policy, wasPlaceholder: force });
        // zfs receive gives a snapshot its stream's GUID; a package (-p) names none in its first record.
        const seen = head as StreamHeader | null;
        const created = seen?.kind === "substream" ? Promise.resolve(seen.toguid) : receivedGuid(ctx, snapshot);
        [guid] = await withZfsErrors(() => Promise.all([created, marked]));
      } catch (err) {
        forgetReceivedTree(ctx); // what zfs left (a partial state, placeholders) is read afresh next time
        if (err instanceof RpcError && err.status === "server_error" && args.from_guid !== undefined && !resuming) await explainDiverged(ctx, target, args.from_guid);
        throw err;
      }
      noteReceived(below, target, { confined: staysConfined });
      return { target, guid };
    },
  });
}

/** The first record, where it is one (zfs receive refuses the stream otherwise, and says so itself). */
function readableHead(bytes: Uint8Array): StreamHeader | null {
  try {
    return decodeStreamHeader(bytes)[0];
  } catch {
    return null;
  }
}

/** The GUID of the snapshot just received, which the client compares with its own. */
async function receivedGuid(ctx: ServerContext, snapshot: VersionName): Promise<bigint> {
  const snap = (await listVersions(ctx.runner, snapshot.dataset)).find((v) => v.name.full === snapshot.full);
  if (!snap) throw new RpcError("server_error", `receive ${quote(snapshot.full)}: zfs exited 0 but the snapshot is not there`);
  return snap.guid;
}

/**
 * Checks, from the session's listing of datasets, that receiving here cannot overwrite anything.
 * Returns whether `-F` is needed, which is only for a full stream into an empty placeholder (its
 * snapshots, if any, are listed by name: a rare case). An incremental stream whose source is not
 * the target's newest snapshot zfs refuses itself; explainDiverged then says why.
 * @throws RpcError conflict
 */
async function checkTarget(ctx: ServerContext, target: DatasetName, node: ReceivedNode | undefined, fromGuid: bigint | undefined): Promise<boolean> {
  if (fromGuid !== undefined) {
    if (!node) throw new RpcError("conflict", `Cannot receive an incremental stream into ${quote(target)}: it does not exist (a full stream is needed)`);
    return false;
  }
  if (!node) return false;
  if (node.dataset.placeholder && (await withZfsErrors(() => listVersions(ctx.runner, target))).length === 0) return true;
  throw new RpcError("conflict", `Cannot receive a full stream into ${quote(target)}: it already exists; zferry does not overwrite datasets`);
}

/**
 * After zfs refused an incremental stream: the conflict, when the target's newest snapshot is not
 * the stream's source (the target diverged). Returns when that is not why.
 * @throws RpcError conflict
 */
async function explainDiverged(ctx: ServerContext, target: DatasetName, fromGuid: bigint): Promise<void> {
  const versions = await listVersions(ctx.runner, target).catch(() => null);
  if (versions === null) return;
  const newest = versions.filter((v) => v.name.kind === "snapshot").at(-1);
  if (newest?.guid === fromGuid) return;
  throw new RpcError(
    "conflict",
    `Cannot receive into ${quote(target)}: its newest snapshot ${newest ? quote(newest.name.full) : "(none)"} is not the incremental source (GUID ${fromGuid}); the target has diverged`,
  );
}

/**
 * Creates missing datasets between receive_root and the target's parent as placeholders, listed in
 * `created`. Where zfs cannot receive without mounting, a new target must not inherit a mountpoint.
 */
async function ensureParents(ctx: ServerContext, target: DatasetName, existing: ReceivedTree, created: DatasetName[]): Promise<void> {
  const root = ctx.acl.receiveRoot!;
  const parts = target.slice(root.length + 1).split("/");
  let current = root as string;
  for (const part of parts.slice(0, -1)) {
    current = `${current}/${part}`;
    const ds = parseDatasetName(current);
    if (!isSameOrBelow(ds, root)) throw new RpcError("permission_denied", `${quote(ds)} is outside receive_root`);
    if (existing.has(ds)) continue;
    try {
      await createPlaceholder(ctx.runner, ds);
    } catch (err) {
      // Another session of this client (a parallel push) made it meanwhile: it is there, not ours.
      if (err instanceof ZfsError && err.stderr.includes("already exists")) continue;
      throw err;
    }
    created.push(ds);
    existing.set(ds, { dataset: { name: ds, type: "filesystem", guid: null, snapshotsChanged: null, resumeToken: null, placeholder: true, encryption: null }, versions: [] });
  }
  if (ctx.caps.recvNoMount || existing.has(target) || created.length > 0) return; // a placeholder parent passes down none
  const parent = parseDatasetName(target.slice(0, target.lastIndexOf("/")));
  const mountpoint = await mountpointForChildOf(ctx.runner, parent);
  if (mountpoint !== null) {
    throw new RpcError(
      "unsupported",
      `Cannot receive into ${quote(target)}: the server's zfs cannot receive without mounting (no "zfs receive -u") and ${quote(parent)} passes down mountpoint ${quote(mountpoint)}; set mountpoint=none on it`,
    );
  }
}
