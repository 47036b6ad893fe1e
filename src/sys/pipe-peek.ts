/**
 * Looks at the first bytes waiting in a pipe without taking them (tee(2) into a scratch pipe), so
 * whoever reads the pipe next still gets the whole stream. Used where a stream's first record must
 * be checked before `zfs receive` may start and the stream only becomes readable in a pipe (after a
 * decompressor): the receive then reads that same pipe, and no byte passes through JavaScript.
 */
import { readSync } from "node:fs";
import { EAGAIN, POLLHUP, POLLIN, SPLICE_F_NONBLOCK, errno, libc, type Libc } from "./libc.ts";
import { closeQuietly, makePipe } from "./pipe.ts";

/**
 * How long to wait between looks while the writer has not produced `bytes` yet: short at first (a
 * zfs send writes its first record right away), then longer, so a writer that takes seconds to
 * start (a busy pool, an emulated machine) costs a few dozen looks, not thousands.
 */
const FIRST_WAIT_MS = 1;
const LONGEST_WAIT_MS = 32;

/** Whether this process can look into pipes (tee(2) through libc; not where bun:ffi is unavailable). */
export function canPeekPipes(): boolean {
  return libc() !== null;
}

/**
 * Resolves with the first `bytes` bytes in the pipe behind `readFd`, or fewer when the writer
 * closed its end (or `ended()` says it is gone) before writing that many.
 * @throws Error where tee(2) is not available or fails
 */
export async function peekPipe(readFd: number, bytes: number, options: { ended: () => boolean }): Promise<Uint8Array> {
  const lib = libc();
  if (!lib) throw new Error("Cannot look at a stream's first record: tee(2) is not available on this platform");
  const scratch = makePipe();
  const head = new Uint8Array(bytes);
  try {
    for (let wait = FIRST_WAIT_MS; ; wait = Math.min(wait * 2, LONGEST_WAIT_MS)) {
      // Checked before the look: a writer that ended has written all it will, so this look is final.
      const ended = options.ended() || writerClosed(lib, readFd);
      const n = Number(lib.tee(readFd, scratch.writeFd, bytes, SPLICE_F_NONBLOCK));
      if (n < 0 && errno(lib) !== EAGAIN) throw new Error(`Cannot look at a stream's first record: tee failed (errno ${errno(lib)})`);
      // tee copies from the start of the pipe every time: drain the scratch copy each round.
      const got = n > 0 ? drain(scratch.readFd, head, n) : 0;
      if (got >= bytes || n === 0 || ended) return head.subarray(0, got);
      await Bun.sleep(wait);
    }
  } finally {
    closeQuietly(scratch.readFd);
    closeQuietly(scratch.writeFd);
  }
}

// --- internal ---

/** struct pollfd { int fd; short events; short revents; } as two int32s. */
const pollFd = new Int32Array(2);

/** POLLHUP on a pipe's read end: every writer has closed it. */
function writerClosed(lib: Libc, fd: number): boolean {
  pollFd[0] = fd;
  pollFd[1] = POLLIN;
  return lib.poll(pollFd, 1, 0) > 0 && ((pollFd[1]! >>> 16) & POLLHUP) !== 0;
}

function drain(fd: number, into: Uint8Array, n: number): number {
  let off = 0;
  while (off < n) off += readSync(fd, into, off, n - off, null);
  return off;
}
