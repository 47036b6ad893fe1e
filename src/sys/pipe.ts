/**
 * Real kernel pipes for `zfs send`/`zfs recv` and child transports, sized up to the system limit.
 * A pipe (not Bun's socketpair) matters twice: `zfs send` adds its own copy thread when its stdout
 * is not a pipe, and splice(2) needs a pipe on one side.
 */
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { F_GETPIPE_SZ, F_SETPIPE_SZ, O_CLOEXEC, libc } from "./libc.ts";

/** Pipe capacity zferry asks for: 1 MiB, or less where /proc/sys/fs/pipe-max-size says so. */
export const WANTED_PIPE_BYTES = 1 << 20;

let maxPipeBytes: number | undefined;

/** The largest capacity an unprivileged F_SETPIPE_SZ may set here, capped at WANTED_PIPE_BYTES. */
export function pipeCapacityLimit(): number {
  if (maxPipeBytes !== undefined) return maxPipeBytes;
  try {
    const max = Number.parseInt(readFileSync("/proc/sys/fs/pipe-max-size", "utf8"), 10);
    maxPipeBytes = Number.isFinite(max) && max > 0 ? Math.min(max, WANTED_PIPE_BYTES) : WANTED_PIPE_BYTES;
  } catch {
    maxPipeBytes = WANTED_PIPE_BYTES;
  }
  return maxPipeBytes;
}

/** Both ends of a pipe; the caller closes what it does not hand to a child. */
export interface Pipe {
  readonly readFd: number;
  readonly writeFd: number;
}

/**
 * Creates a close-on-exec pipe enlarged to `pipeCapacityLimit()`. Without libc (not Linux) it
 * falls back to a FIFO made by mkfifo, which is also a real pipe, at the default size.
 * @throws Error when neither works
 */
export function makePipe(): Pipe {
  const lib = libc();
  if (lib) {
    const fds = new Int32Array(2);
    if (lib.pipe2(fds, O_CLOEXEC) !== 0) throw new Error("Cannot create a pipe: pipe2 failed");
    const pipe = { readFd: fds[0]!, writeFd: fds[1]! };
    growPipe(pipe.writeFd);
    return pipe;
  }
  return makeFifoPipe();
}

/** Enlarges the pipe behind `fd` to `pipeCapacityLimit()`; a no-op for other fds. Returns its size or -1. */
export function growPipe(fd: number): number {
  const lib = libc();
  if (!lib) return -1;
  if (lib.fcntl(fd, F_GETPIPE_SZ, 0) < 0) return -1; // not a pipe
  const size = lib.fcntl(fd, F_SETPIPE_SZ, pipeCapacityLimit());
  return size >= 0 ? size : lib.fcntl(fd, F_GETPIPE_SZ, 0);
}

/** Closes an fd, ignoring EBADF from a double close during cleanup. */
export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

function makeFifoPipe(): Pipe {
  const dir = mkdtempSync(`${tmpdir()}/zferry-fifo-`);
  const path = `${dir}/p`;
  const made = Bun.spawnSync(["mkfifo", path]);
  if (!made.success) throw new Error("Cannot create a pipe: mkfifo failed");
  try {
    const writeFd = openSync(path, constants.O_RDWR); // does not block, unlike O_WRONLY
    const readFd = openSync(path, constants.O_RDONLY);
    return { readFd, writeFd };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
