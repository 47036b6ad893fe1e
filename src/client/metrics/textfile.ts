/**
 * Writes a job's run into the node_exporter textfile, which several jobs share: under a lock,
 * read the file, replace this job's series (job-samples.ts), write a temporary file in the same
 * directory and rename it over the old one. The collector therefore reads either the old or the
 * new file, never half of one, and two jobs finishing together do not lose each other's lines.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { prepareLockDir, type HeldLock } from "../../sys/lock-file.ts";
import { lockFilePath, tryLockNamed } from "../../sys/tree-lock.ts";
import { parseExposition, renderExposition } from "./exposition.ts";
import { mergeJobRun, type RunRecord } from "./job-samples.ts";

/** The prefix of the textfile's lock in the lock directory: `metrics.%2Fvar%2Flib%2F….prom.lock`. */
export const METRICS_LOCK_PREFIX = "metrics";
/** How long to wait for another job's write: each holds the lock for one read and one rename. */
const LOCK_WAIT_MS = 10_000;
const LOCK_RETRY_MS = 20;

/**
 * Merges `run` into the textfile at `path`.
 * @param options.lockDir where the lock lives (the run locks' directory, shared by every zferry)
 * @throws Error naming the file when it cannot be read, written or locked in time
 */
export async function writeJobMetrics(path: string, run: RunRecord, options: { lockDir: string; lockWaitMs?: number }): Promise<void> {
  const { lockDir, lockWaitMs = LOCK_WAIT_MS } = options;
  prepareLockDir(lockDir);
  using _lock = await waitForLock(lockFilePath(lockDir, path, { prefix: METRICS_LOCK_PREFIX }), lockWaitMs);
  const text = readIfExists(path);
  replaceFile(path, renderExposition(mergeJobRun(parseExposition(text), run)));
}

// --- internal ---

/**
 * flock(2) cannot wait with a time limit, and a blocking one would stop this process's event loop
 * (and its signal handling) for as long as the holder takes, so: try, and try again shortly.
 */
async function waitForLock(path: string, waitMs: number): Promise<HeldLock> {
  const deadline = performance.now() + waitMs;
  for (;;) {
    const attempt = tryLockNamed(path);
    if ("held" in attempt) return attempt.held;
    if (performance.now() > deadline) throw new Error(`Cannot lock "${path}": still held after ${waitMs / 1000} s by pid ${attempt.busy.map((p) => p.pid).join(", ") || "?"}`);
    await Bun.sleep(LOCK_RETRY_MS); // flock offers no wakeup; the holder lets go within milliseconds
  }
}

function readIfExists(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw new Error(`Cannot read "${path}": ${(err as Error).message}`, { cause: err });
  }
}

/** A dot file ending in `.tmp`: the collector reads only `*.prom`, so it never sees a partial one. */
function replaceFile(path: string, text: string): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    const fd = openSync(temp, "w", 0o644);
    try {
      const bytes = Buffer.from(text);
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd); // rename after the data is on disk: a crash leaves the old file or the new one
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw new Error(`Cannot write "${path}": ${(err as Error).message}`, { cause: err });
  }
}
