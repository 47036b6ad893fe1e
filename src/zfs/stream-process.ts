/**
 * Long-running `zfs send` / `zfs receive` children wired to real kernel pipes (`makePipe`), not
 * Bun's socketpairs: zfs send adds a copy thread when stdout is not a pipe, and splice(2) needs one.
 *
 * Ownership: the child gets one end of the pipe and the parent closes its copy of that end right
 * after spawning, so EOF arrives when the child exits. The other end (`readFd` of a send,
 * `writeFd` of a receive) belongs to the caller, who must close it (closeQuietly) when done,
 * whether the child succeeded, failed or was killed:
 *
 *     await using send = startZfsSend(bin, sendArgv(request, caps));
 *     try { copy from send.readFd … } finally { closeQuietly(send.readFd); }
 *     const { exitCode, stderrTail } = await send.done();
 *
 * `kill()` (and leaving an `await using` scope) signals the child and awaits its exit, so it is
 * reaped and nothing is orphaned.
 */
import type { Subprocess } from "bun";
import { logger } from "../log.ts";
import { closeQuietly, makePipe } from "../sys/pipe.ts";
import { collectTail } from "./_tail-buffer.ts";
import { MAX_STDERR_BYTES, ZfsNotFoundError, describeArgv, zfsExitError, type ZfsError } from "./errors.ts";
import { executableOf, isSpawnNotFound } from "./run.ts";

const log = logger.withTag("zfs");

/** How a zfs child ended. */
export interface ZfsChildResult {
  /** Exit status, or 128 + signal number when killed (as `proc.exited` reports it). */
  readonly exitCode: number;
  /** The signal that killed it, e.g. "SIGTERM", or null. */
  readonly signalCode: string | null;
  /** The last MAX_STDERR_BYTES of stderr. */
  readonly stderrTail: string;
}

export interface ZfsChild {
  readonly proc: Subprocess;
  readonly argv: readonly string[];
  /** Resolves once the child has exited and its stderr is drained; never rejects. */
  done(): Promise<ZfsChildResult>;
  /** Sends `signal` (default SIGTERM) unless the child already exited, then awaits `done()`. */
  kill(signal?: NodeJS.Signals | number): Promise<ZfsChildResult>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface ZfsSendProcess extends ZfsChild {
  /** Read end of the stream pipe; owned by the caller, who must close it. */
  readonly readFd: number;
}

export interface ZfsRecvProcess extends ZfsChild {
  /** Write end of the stream pipe; owned by the caller, who must close it to signal end of stream. */
  readonly writeFd: number;
}

/**
 * Starts `bin ...argv` (a `send` argv) with stdout on a fresh pipe.
 * @throws ZfsNotFoundError when the binary cannot be started (no fd is leaked)
 */
export function startZfsSend(bin: string, argv: readonly string[]): ZfsSendProcess {
  const pipe = makePipe();
  const proc = spawnOrClose(bin, argv, { stdin: "ignore", stdout: pipe.writeFd }, pipe);
  closeQuietly(pipe.writeFd);
  return { ...track(proc, bin, argv), readFd: pipe.readFd };
}

/**
 * Starts `bin ...argv` (a `receive` argv) with stdin on a fresh pipe.
 * @throws ZfsNotFoundError when the binary cannot be started (no fd is leaked)
 */
export function startZfsRecv(bin: string, argv: readonly string[]): ZfsRecvProcess {
  const pipe = makePipe();
  const proc = spawnOrClose(bin, argv, { stdin: pipe.readFd, stdout: "ignore" }, pipe);
  closeQuietly(pipe.readFd);
  return { ...track(proc, bin, argv), writeFd: pipe.writeFd };
}

/**
 * Starts `bin ...argv` (a `receive` argv) reading the pipe behind `stdinFd`, which stays the
 * caller's to close (after this returns); for a stream that reaches zfs through another process.
 * @throws ZfsNotFoundError when the binary cannot be started
 */
export function startZfsRecvFrom(bin: string, argv: readonly string[], stdinFd: number): ZfsChild {
  const proc = spawnOrClose(bin, argv, { stdin: stdinFd, stdout: "ignore" }, { readFd: -1, writeFd: -1 });
  return track(proc, bin, argv);
}

/**
 * The ZfsError for a child that failed, or null when it exited 0. `subject` names the operation
 * in the message (default: the subcommand and its last argument, e.g. `send "tank/a@s2"`).
 */
export function zfsChildError(argv: readonly string[], result: ZfsChildResult, options: { subject?: string } = {}): ZfsError | null {
  if (result.exitCode === 0) return null;
  return zfsExitError(options.subject ?? describeArgv(argv), { argv, exitCode: result.exitCode, stderr: result.stderrTail });
}

// --- internal ---

function spawnOrClose(
  bin: string,
  argv: readonly string[],
  stdio: { stdin: "ignore" | number; stdout: "ignore" | number },
  pipe: { readFd: number; writeFd: number },
): Subprocess<"ignore" | number, "ignore" | number, "pipe"> {
  try {
    return Bun.spawn([executableOf(bin), ...argv], { ...stdio, stderr: "pipe", env: { ...process.env, LC_ALL: "C" } });
  } catch (error) {
    closeQuietly(pipe.readFd);
    closeQuietly(pipe.writeFd);
    if (isSpawnNotFound(error)) throw new ZfsNotFoundError(bin, error);
    throw error;
  }
}

function track(proc: Subprocess<"ignore" | number, "ignore" | number, "pipe">, bin: string, argv: readonly string[]): ZfsChild {
  const started = performance.now();
  log.debug(`start: ${bin} ${argv.join(" ")} (pid ${proc.pid})`);
  const finished: Promise<ZfsChildResult> = Promise.all([collectTail(proc.stderr, MAX_STDERR_BYTES), proc.exited]).then(
    ([stderrTail, exitCode]) => {
      log.debug(`exit: ${bin} ${argv[0] ?? ""} (pid ${proc.pid}) ${proc.signalCode ?? exitCode} after ${(performance.now() - started).toFixed(0)} ms`);
      const signalCode = typeof proc.signalCode === "string" ? proc.signalCode : null;
      return { exitCode, signalCode, stderrTail };
    },
  );
  async function kill(signal: NodeJS.Signals | number = "SIGTERM"): Promise<ZfsChildResult> {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    return finished;
  }
  return {
    proc,
    argv,
    done: () => finished,
    kill,
    async [Symbol.asyncDispose]() {
      await kill();
    },
  };
}
