/**
 * One run of a job at a time, and one writer per dataset tree. Cron starts `zferry pull prod`
 * again while the last run still receives; two jobs may share a root, or one's root may contain
 * the other's. Each of these would fail halfway with a misleading zfs error ("the target exists",
 * "dataset is busy"), so the second run is refused before it connects or runs any zfs.
 *
 * A run holds `job.<name>.lock`, and a pull also the dataset tree at its root (sys/tree-lock.ts),
 * which a stdinserver receiving on this machine locks the same way. A push writes only on the
 * server, whose `receive` locks each target there. A dry run changes nothing and takes no lock.
 */
import { join } from "node:path";
import { lockDirOf, type Config, type JobConfig } from "../config/index.ts";
import { prepareLockDir } from "../sys/lock-file.ts";
import { formatProcess, type ProcessInfo } from "../sys/process-info.ts";
import { DATASET_LOCK_PREFIX, tryLockNamed, tryLockTree } from "../sys/tree-lock.ts";
import { quote } from "../zfs/index.ts";

/** The locks of a running job; releasing (or disposing) lets the next run start. */
export interface JobLock extends Disposable {
  release(): void;
}

/**
 * Takes the job's locks, or says in one line which process holds one.
 * @throws Error `"pull prod: <reason>"` when the lock directory or a lock file cannot be used
 */
export function lockJob(config: Config, job: JobConfig): JobLock | { readonly busy: string } {
  try {
    return takeLocks(lockDirOf(config), job);
  } catch (err) {
    throw new Error(`${job.type} ${job.name}: ${(err as Error).message}`, { cause: err });
  }
}

/** `pid 1 (…), started …`, or several joined with "; "; "another process" when /proc does not tell. */
export function formatHolders(holders: readonly ProcessInfo[]): string {
  return holders.length ? holders.map(formatProcess).join("; ") : "another process";
}

// --- internal ---

function takeLocks(dir: string, job: JobConfig): JobLock | { readonly busy: string } {
  prepareLockDir(dir);
  const own = tryLockNamed(join(dir, `job.${job.name}.lock`));
  if ("busy" in own) return { busy: `job ${quote(job.name)} is already running: ${formatHolders(own.busy)}` };
  if (job.type === "push") return own.held;
  const tree = tryLockTree(dir, job.root, { prefix: DATASET_LOCK_PREFIX });
  if ("busy" in tree) {
    own.held.release();
    const { name, path, holders } = tree.busy;
    const where =
      name === job.root
        ? `the job's root ${quote(job.root)}, or a dataset below it, is being written by ${formatHolders(holders)}`
        : `the job's root ${quote(job.root)} is inside ${quote(name)}, which is being written by ${formatHolders(holders)}`;
    return { busy: `${where} (lock ${path})` };
  }
  const release = () => {
    tree.held.release();
    own.held.release();
  };
  return { release, [Symbol.dispose]: release };
}
