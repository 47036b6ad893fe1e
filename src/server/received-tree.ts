/**
 * What is below this identity's receive_root, listed once per session (on its first receive) and
 * kept up to date by the session's own receives: the datasets alone, no snapshot (each receive
 * needs to know whether its target exists, is an empty placeholder or holds a partial receive,
 * and whether it is confined already). A push of many filesystems in parallel sessions costs each
 * session one listing of datasets, and each filesystem its `zfs receive`.
 *
 * Another session may change the tree meanwhile (a parallel push of the same client creates
 * siblings' placeholders; the receive lock keeps two receives out of one dataset): what this
 * listing lacks, a receive creates or finds, and what it holds that is out of date, zfs itself
 * refuses (an incremental onto another snapshot, a full stream onto an existing dataset without
 * `-F`). A receive that fails drops the listing: the next one reads what zfs left.
 */
import { RpcError } from "../rpc/index.ts";
import { CONFINEMENT_PROPERTIES, ZfsError, quote, readTree, type DatasetName, type TreeNode } from "../zfs/index.ts";
import type { ServerContext } from "./context.ts";
import { sessionCache } from "./session-cache.ts";

export type ReceivedNode = TreeNode;
export type ReceivedTree = Map<string, TreeNode>;

const cache = sessionCache(load);

/**
 * Every filesystem at and below receive_root with its placeholder mark, resume token and confined
 * properties (read with the listing: no extra zfs process), without versions.
 * @throws RpcError server_error when receive_root itself is missing
 */
export function receivedTree(ctx: ServerContext): Promise<ReceivedTree> {
  return cache.get(ctx);
}

export function forgetReceivedTree(ctx: ServerContext): void {
  cache.forget(ctx);
}

/**
 * Records that this session received into `target`: it exists, and is neither a placeholder nor a
 * partial receive any more. Its confined properties stay known only when the receive left them as
 * listed (`confined`: a plain receive into a target confined already); otherwise the next receive
 * into it confines again.
 */
export function noteReceived(tree: ReceivedTree, target: DatasetName, received: { confined: boolean }): void {
  const node = tree.get(target);
  const properties = received.confined ? node?.dataset.properties : undefined;
  const dataset = { name: target, type: node?.dataset.type ?? "filesystem", guid: null, snapshotsChanged: null, resumeToken: null, placeholder: false, encryption: null } as const;
  tree.set(target, { dataset: { ...dataset, ...(properties ? { properties } : {}) }, versions: [] });
}

async function load(ctx: ServerContext): Promise<ReceivedTree> {
  const root = ctx.acl.receiveRoot!;
  try {
    return await readTree(ctx.runner, root, { placeholders: true, properties: CONFINEMENT_PROPERTIES, versions: false });
  } catch (err) {
    if (err instanceof ZfsError && err.isDatasetMissing) throw new RpcError("server_error", `receive_root ${quote(root)} does not exist on the server`);
    throw err;
  }
}
