/**
 * Run locks: flock(2) on a file in a lock directory. The kernel drops a flock when the last file
 * descriptor of its open file goes away, so a run killed with SIGKILL, or a power loss (the
 * directory is on tmpfs), leaves nothing that blocks the next run; a pid file would.
 *
 * Every attempt is non-blocking: a busy lock is reported at once with the processes that hold it,
 * found in /proc/locks by the file's device and inode (the kernel's own record, so a stale or
 * half-written file content cannot mislead). Lock files are never removed: unlinking a lock file
 * another process has open lets a third one lock a new file of the same name.
 *
 * The descriptors are close-on-exec (Bun opens every file so), so no `zfs` child inherits a lock.
 */
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, statSync, type Stats } from "node:fs";
import { EINTR, EWOULDBLOCK, LOCK_EX, LOCK_NB, LOCK_SH, errno, libc } from "./libc.ts";

export type LockMode = "shared" | "exclusive";

/** A lock this process holds; disposing (or `release`) closes its descriptor, which unlocks it. */
export interface HeldLock extends Disposable {
  readonly path: string;
  release(): void;
}

/** A lock that was free and is now held, or the pids holding it (empty if they just let go). */
export type LockAttempt = { readonly held: HeldLock } | { readonly busy: readonly number[] };

/**
 * Creates the lock directory if it is missing (mode 0755) and checks that nobody but its owner can
 * write to it, since whoever can write there could replace a lock file by a symlink.
 * @throws Error naming the directory and what is wrong with it
 */
export function prepareLockDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (cause) {
    throw new Error(`Cannot create the lock directory "${dir}": ${(cause as Error).message}`, { cause });
  }
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`The lock directory "${dir}" is not a directory`);
  const uid = process.geteuid?.() ?? st.uid;
  if (st.uid !== uid && st.uid !== 0) throw new Error(`The lock directory "${dir}" belongs to uid ${st.uid}, not to this user (${uid}) or root`);
  if ((st.mode & 0o022) !== 0) throw new Error(`The lock directory "${dir}" is writable by others (mode ${(st.mode & 0o777).toString(8)}); make it 0755`);
}

/**
 * Tries once to lock `path` (created 0644 if missing, never through a symlink), without waiting.
 * @throws Error when the file cannot be opened or flock fails for another reason than a busy lock
 */
export function tryLockFile(path: string, mode: LockMode): LockAttempt {
  const lib = libc();
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  } catch (cause) {
    throw new Error(`Cannot open the lock file "${path}": ${(cause as Error).message}`, { cause });
  }
  if (!lib) return { held: heldLock(path, fd) }; // no flock(2) here (not Linux): nothing is locked
  const op = (mode === "exclusive" ? LOCK_EX : LOCK_SH) | LOCK_NB;
  for (;;) {
    if (lib.flock(fd, op) === 0) return { held: heldLock(path, fd) };
    const err = errno(lib);
    if (err === EINTR) continue;
    try {
      if (err === EWOULDBLOCK) return { busy: holdersOf(fstatSync(fd)) };
      throw new Error(`Cannot lock "${path}": flock failed with errno ${err}`);
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * The pids holding an exclusive lock on `path`, read from /proc/locks without locking anything
 * (a probe that locked, even briefly, could make a real attempt at the same moment fail).
 */
export function exclusiveHolders(path: string): number[] {
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    return []; // never locked
  }
  return holdersOf(st, { exclusiveOnly: true });
}

// --- internal ---

function heldLock(path: string, fd: number): HeldLock {
  let open = true;
  const release = () => {
    if (!open) return;
    open = false;
    closeSync(fd);
  };
  return { path, release, [Symbol.dispose]: release };
}

/**
 * The pids with a flock on the file `st` describes, from /proc/locks lines like
 * `1: FLOCK  ADVISORY  WRITE 4242 fe:00:2146660 0 EOF` (WRITE for exclusive, READ for shared;
 * the device as hex major:minor, then the inode). Waiters (`1: -> FLOCK …`) hold nothing.
 */
function holdersOf(st: Stats, options: { exclusiveOnly?: boolean } = {}): number[] {
  const dev = `${hex2(devMajor(st.dev))}:${hex2(devMinor(st.dev))}:${st.ino}`;
  let table: string;
  try {
    table = readFileSync("/proc/locks", "utf8");
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const line of table.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f[1] !== "FLOCK" || f[5] !== dev || (options.exclusiveOnly && f[3] !== "WRITE")) continue;
    const pid = Number(f[4]);
    if (Number.isInteger(pid) && pid > 0 && !pids.includes(pid)) pids.push(pid);
  }
  return pids;
}

/** glibc's encoding of st_dev (gnu_dev_major / gnu_dev_minor). */
function devMajor(dev: number): number {
  return Number(((BigInt(dev) >> 8n) & 0xfffn) | ((BigInt(dev) >> 32n) & ~0xfffn));
}

function devMinor(dev: number): number {
  return Number((BigInt(dev) & 0xffn) | ((BigInt(dev) >> 12n) & ~0xffn));
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}
