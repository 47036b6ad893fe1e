/**
 * Locks on subtrees of a `/`-separated name space (ZFS datasets), so that two processes never
 * write into overlapping trees: `pool/back` and `pool/back/x` exclude each other, `pool/back/x`
 * and `pool/back/y` do not.
 *
 * The scheme is intention locking with flock(2): to hold the tree at `a/b/c`, take a shared lock
 * on `a` and on `a/b`, then an exclusive one on `a/b/c`. Two overlapping trees, one at X and one
 * at or below X, both lock X's file, one of them exclusively; nothing else they lock conflicts. So
 * when both start at once exactly one wins, whatever the timing, and neither waits.
 */
import { join } from "node:path";
import { exclusiveHolders, tryLockFile, type HeldLock, type LockMode } from "./lock-file.ts";
import { processInfo, type ProcessInfo } from "./process-info.ts";

/** The prefix of dataset lock files, for the pull client and the stdinserver's receive alike. */
export const DATASET_LOCK_PREFIX = "dataset";

export interface TreeBusy {
  /** The node whose lock was taken: the tree's own name or one of its ancestors. */
  readonly name: string;
  readonly path: string;
  /** Who holds it (empty when /proc does not tell). */
  readonly holders: readonly ProcessInfo[];
}

export type TreeLockAttempt = { readonly held: HeldLock } | { readonly busy: TreeBusy };

/** Attempts before a lock whose holders let go while it was being looked at is reported busy. */
const ATTEMPTS = 3;
/** Longest file name most Linux filesystems take. */
const NAME_MAX = 255;

/**
 * Tries once, without waiting, to hold the tree at `name`; on failure nothing stays locked.
 * @param options.prefix first part of each lock file's name, e.g. "dataset"
 * @throws Error when a lock file cannot be opened or locked (not when it is busy)
 */
export function tryLockTree(dir: string, name: string, options: { prefix: string }): TreeLockAttempt {
  const parts = name.split("/");
  const held: HeldLock[] = [];
  const releaseAll = () => {
    for (const lock of held.reverse()) lock.release();
  };
  try {
    for (let i = 1; i <= parts.length; i++) {
      const node = parts.slice(0, i).join("/");
      const path = lockFilePath(dir, node, options);
      const attempt = lockOnce(path, i === parts.length ? "exclusive" : "shared");
      if ("busy" in attempt) {
        releaseAll();
        return { busy: { name: node, path, holders: attempt.busy.map(processInfo) } };
      }
      held.push(attempt.held);
    }
  } catch (err) {
    releaseAll();
    throw err;
  }
  const path = held.at(-1)!.path;
  return { held: { path, release: releaseAll, [Symbol.dispose]: releaseAll } };
}

/**
 * Tries once to lock one file exclusively, and says who holds it when it is busy.
 * @throws Error as tryLockFile
 */
export function tryLockNamed(path: string): { readonly held: HeldLock } | { readonly busy: readonly ProcessInfo[] } {
  const attempt = lockOnce(path, "exclusive");
  return "busy" in attempt ? { busy: attempt.busy.map(processInfo) } : attempt;
}

/** Whether another process holds the tree at exactly `name` now; locks nothing. */
export function isTreeHeldElsewhere(dir: string, name: string, options: { prefix: string }): boolean {
  return exclusiveHolders(lockFilePath(dir, name, options)).some((pid) => pid !== process.pid);
}

/**
 * `<dir>/<prefix>.<name>.lock`, with `%` and `/` written as `%25` and `%2F` (neither occurs in a
 * dataset name, so the mapping is one to one); a name too long for one file name is hashed.
 */
export function lockFilePath(dir: string, name: string, options: { prefix: string }): string {
  const { prefix } = options;
  const file = `${prefix}.${name.replaceAll("%", "%25").replaceAll("/", "%2F")}.lock`;
  if (Buffer.byteLength(file) <= NAME_MAX) return join(dir, file);
  return join(dir, `${prefix}.sha256-${new Bun.CryptoHasher("sha256").update(name).digest("hex")}.lock`);
}

// --- internal ---

/** A busy lock whose holders are gone by the time /proc/locks is read is simply tried again. */
function lockOnce(path: string, mode: LockMode): { held: HeldLock } | { busy: readonly number[] } {
  let attempt = tryLockFile(path, mode);
  for (let i = 1; i < ATTEMPTS && "busy" in attempt && attempt.busy.length === 0; i++) attempt = tryLockFile(path, mode);
  return attempt;
}
