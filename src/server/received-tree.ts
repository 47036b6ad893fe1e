/**
 * What is below this identity's receive_root, listed once per session (on its first receive)
 * and kept up to date by the session's own receives, so that a push of many filesystems costs
 * each one its `zfs receive` and the check of what landed, not a listing of the tree.
 *
 * Another session may change the tree meanwhile (a parallel push of the same client creates
 * siblings' placeholders; the receive lock keeps two receives out of one dataset): what this
 * listing lacks, a receive creates or finds, and what it holds that is out of date, zfs itself
 * refuses (an incremental onto another snapshot, a full stream onto an existing dataset without
 * `-F`). A receive that fails drops the listing: the next one reads what zfs left.
 */
import { RpcError } from "../rpc/index.ts";
import { CONFINEMENT_PROPERTIES, ZfsError, quote, readTree, type DatasetName, type TreeNode, type VersionName } from "../zfs/index.ts";
import type { ServerContext } from "./context.ts";
import { sessionCache } from "./session-cache.ts";

export type ReceivedNode = TreeNode;
export type ReceivedTree = Map<string, TreeNode>;

const cache = sessionCache(load);

/**
 * Every filesystem at and below receive_root with its versions, placeholder mark, resume token and
 * confined properties (read with the listing: no extra zfs process).
 * @throws RpcError server_error when receive_root itself is missing
 */
export function receivedTree(ctx: ServerContext): Promise<ReceivedTree> {
  return cache.get(ctx);
}

export function forgetReceivedTree(ctx: ServerContext): void {
  cache.forget(ctx);
}

/**
 * Records a snapshot this session received into `target`. Its confined properties stay known only
 * when the receive left them as listed (`confined`: a plain receive into a target confined
 * already); otherwise the next receive into it confines again.
 */
export function noteReceived(tree: ReceivedTree, target: DatasetName, received: { snapshot: VersionName; guid: bigint; confined: boolean }): void {
  const node = tree.get(target) ?? { dataset: { name: target, type: "filesystem", guid: null, snapshotsChanged: null, resumeToken: null, placeholder: false, encryption: null }, versions: [] };
  const txg = (node.versions.at(-1)?.createtxg ?? 0n) + 1n; // orders it last; the real txg is not needed here
  const version = { name: received.snapshot, guid: received.guid, createtxg: txg, creation: 0, referenced: null, written: null };
  const { properties, ...dataset } = node.dataset;
  tree.set(target, { dataset: { ...dataset, resumeToken: null, placeholder: false, ...(received.confined && properties ? { properties } : {}) }, versions: [...node.versions, version] });
}

async function load(ctx: ServerContext): Promise<ReceivedTree> {
  const root = ctx.acl.receiveRoot!;
  try {
    return await readTree(ctx.runner, root, { placeholders: true, properties: CONFINEMENT_PROPERTIES });
  } catch (err) {
    if (err instanceof ZfsError && err.isDatasetMissing) throw new RpcError("server_error", `receive_root ${quote(root)} does not exist on the server`);
    throw err;
  }
}
