/**
 * The zfs records of what an identity may read: a listing of its readable roots only (every pool
 * when it may read below all of them), so a client allowed one subtree costs a listing of that
 * subtree, not of the host. The caller still filters each name through the ACL.
 */
import { scanTree, type ScanTreeOptions, type TreeRecord } from "../zfs/index.ts";
import type { ServerContext } from "./context.ts";

/** The records below the identity's readable roots, in batches (scanTree); rules that allow nothing list nothing. */
export async function* readableRecords(ctx: ServerContext, options: ScanTreeOptions = {}): AsyncGenerator<readonly TreeRecord[], void, undefined> {
  const roots = ctx.acl.readableRoots();
  if (roots?.length === 0) return;
  yield* scanTree(ctx.runner, roots ?? [], { ...options, missingRootsOk: true });
}
