/**
 * One receive per dataset tree on this machine. Two clients pushing into one receive_root run in
 * two stdinserver processes; two `zfs recv` into one dataset would interleave (or fail with zfs's
 * "dataset is busy" halfway through). A receive holds the tree lock of its target (sys/tree-lock.ts),
 * the same lock a pull job here holds on its root, so a receive into a dataset another process
 * writes into, or into a tree containing it, is refused with `busy` before it runs any zfs.
 */
import { RpcError } from "../rpc/index.ts";
import { prepareLockDir, type HeldLock } from "../sys/lock-file.ts";
import { formatProcess } from "../sys/process-info.ts";
import { DATASET_LOCK_PREFIX, isTreeHeldElsewhere, tryLockTree } from "../sys/tree-lock.ts";
import { quote, type DatasetName } from "../zfs/index.ts";
import type { ServerContext } from "./context.ts";

/**
 * Locks the tree at `target` for this receive; dispose the result when the receive is over.
 * @throws RpcError busy when another process holds an overlapping tree; server_error when the
 *   lock directory cannot be used
 */
export function lockReceiveTarget(ctx: ServerContext, target: DatasetName): HeldLock {
  let attempt;
  try {
    prepareLockDir(ctx.lockDir);
    attempt = tryLockTree(ctx.lockDir, target, { prefix: DATASET_LOCK_PREFIX });
  } catch (err) {
    throw new RpcError("server_error", `receive ${quote(target)}: ${(err as Error).message}`, { cause: err });
  }
  if ("held" in attempt) return untilChildrenReaped(ctx, attempt.held);
  const { name, holders } = attempt.busy;
  // The client learns the pid and the start, not the command line: it would name other identities.
  const who = holders.length ? holders.map((h) => formatProcess({ ...h, command: "" })).join("; ") : "another process";
  ctx.log.warn(`receive ${quote(target)}: busy: ${quote(name)} is locked by ${holders.map(formatProcess).join("; ") || "another process"}`);
  const what = name === target ? `it, or a dataset below it, is being written by ${who}` : `${quote(name)}, which contains it, is being written by ${who}`;
  throw new RpcError("busy", `Cannot receive into ${quote(target)}: ${what}; nothing was changed, try again when that is done`);
}

/**
 * Releases `lock` when the receive is over and its `zfs recv` is gone. A receive whose connection
 * broke returns while its `zfs recv` still runs (the session kills and reaps it as it ends); the
 * lock stays until then, so the next receive does not meet a dying one. Otherwise the release is
 * immediate: the same client's next receive into the same dataset must find it free.
 */
function untilChildrenReaped(ctx: ServerContext, lock: HeldLock): HeldLock {
  const release = () => {
    if (ctx.children.idle) lock.release();
    else void ctx.children.whenIdle().then(() => lock.release());
  };
  return { path: lock.path, release, [Symbol.dispose]: release };
}

/**
 * Whether another process is receiving into exactly `dataset` now. zfs-fuse shows a dataset a
 * full receive is creating, empty, while the stream arrives; list_received leaves it out, so that
 * a second pusher plans a receive and is told `busy` by it, instead of planning a conflict with
 * a dataset that "exists without snapshots".
 */
export function isBeingReceived(ctx: ServerContext, dataset: string): boolean {
  return isTreeHeldElsewhere(ctx.lockDir, dataset, { prefix: DATASET_LOCK_PREFIX });
}
