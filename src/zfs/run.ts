/**
 * The one place a short zfs command is spawned (long-running `send`/`recv` children live in
 * `stream-process.ts`). argv is an array handed to posix_spawn, never a shell string.
 */
import { logger } from "../log.ts";
import { collectTail } from "./_tail-buffer.ts";
import { MAX_STDERR_BYTES, ZfsNotFoundError, describeArgv, zfsExitError } from "./errors.ts";

const log = logger.withTag("zfs");

/** The zfs binary used when the config does not name one (`[zfs] bin`). */
export const DEFAULT_ZFS_BIN = "zfs";

export interface RunZfsOptions {
  /** Path or name of the zfs binary; default DEFAULT_ZFS_BIN. */
  bin?: string;
  /** Aborting kills the child and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Bytes for the child's stdin; without it stdin is /dev/null. */
  stdin?: string | Uint8Array;
  /** Names the operation in error messages, e.g. `list "tank/a"`; default derived from argv. */
  subject?: string;
}

/** What a finished zfs command printed, whatever its exit status. */
export interface ZfsOutput {
  readonly stdout: string;
  /** The last MAX_STDERR_BYTES of stderr. */
  readonly stderr: string;
  /** Exit status, or 128 + signal number when killed. */
  readonly exitCode: number;
}

/**
 * Runs a short zfs command and returns its stdout.
 * @throws ZfsError when zfs exits non-zero
 * @throws ZfsNotFoundError when the binary cannot be started
 * @throws the signal's reason when aborted
 */
export async function runZfs(argv: readonly string[], options: RunZfsOptions = {}): Promise<string> {
  const out = await runZfsCapture(argv, options);
  if (out.exitCode !== 0) {
    throw zfsExitError(options.subject ?? describeArgv(argv), { argv, exitCode: out.exitCode, stderr: out.stderr });
  }
  return out.stdout;
}

/**
 * Runs a short zfs command and returns stdout, stderr and the exit status without judging them;
 * for commands whose useful output comes with a non-zero status (`zfs send -nvt`, usage probes).
 * @throws ZfsNotFoundError when the binary cannot be started
 * @throws the signal's reason when aborted
 */
export async function runZfsCapture(argv: readonly string[], options: RunZfsOptions = {}): Promise<ZfsOutput> {
  const { bin = DEFAULT_ZFS_BIN, signal, stdin } = options;
  signal?.throwIfAborted();
  const started = performance.now();
  log.debug(`run: ${bin} ${argv.join(" ")}`);
  await using proc = spawnShort(bin, argv, stdin);
  const onAbort = (): void => {
    proc.kill();
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    // Read both pipes while waiting, or a child filling one pipe would block forever.
    const [stdout, stderr, exitCode] = await Promise.all([
      new Response(proc.stdout).text(),
      collectTail(proc.stderr, MAX_STDERR_BYTES),
      proc.exited,
    ]);
    log.debug(`run: ${bin} ${argv[0] ?? ""} exited ${exitCode} after ${(performance.now() - started).toFixed(1)} ms`);
    signal?.throwIfAborted();
    return { stdout, stderr, exitCode };
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

// --- internal ---

function spawnShort(bin: string, argv: readonly string[], stdin: string | Uint8Array | undefined) {
  try {
    return Bun.spawn([executableOf(bin), ...argv], {
      stdin: stdin === undefined ? "ignore" : typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin,
      stdout: "pipe",
      stderr: "pipe",
      // Messages are matched ("dataset does not exist"), so they must not be translated.
      env: { ...process.env, LC_ALL: "C" },
    });
  } catch (error) {
    if (isSpawnNotFound(error)) throw new ZfsNotFoundError(bin, error);
    throw error;
  }
}

const executables = new Map<string, string>();

/**
 * Where `bin` is: itself when it is a path, else looked up in PATH once per process (a spawn by
 * name stats every PATH entry, each time; a job spawns hundreds). Not found stays the name, so
 * the spawn fails with the usual error.
 */
export function executableOf(bin: string): string {
  if (bin.includes("/")) return bin;
  let path = executables.get(bin);
  if (path === undefined) {
    path = Bun.which(bin) ?? bin;
    if (path !== bin) executables.set(bin, path);
  }
  return path;
}

/** True for the errors posix_spawn gives when the binary is missing or not executable. */
export function isSpawnNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "EACCES" || code === "ENOTDIR";
}
