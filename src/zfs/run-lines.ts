/**
 * A zfs command whose output is read as it comes (a recursive listing of a wide pool can be
 * hundreds of megabytes): nothing holds more than one chunk and the line being cut. Lines come in
 * batches, those each chunk completes: a wide listing has hundreds of thousands, and an async
 * step per line cost more than parsing it. A listing parser that reads bytes takes the chunks.
 */
import { logger } from "../log.ts";
import { collectTail } from "./_tail-buffer.ts";
import { MAX_STDERR_BYTES, ZfsNotFoundError, describeArgv, zfsExitError } from "./errors.ts";
import { DEFAULT_ZFS_BIN, executableOf, isSpawnNotFound, type RunZfsOptions } from "./run.ts";

const log = logger.withTag("zfs");

/**
 * Yields what zfs prints on stdout, chunk by chunk as it comes (never an empty one); after the
 * last one, checks the exit status. Leaving the loop early kills zfs and reaps it.
 * @throws ZfsError when zfs exits non-zero (after the output it printed)
 * @throws ZfsNotFoundError when the binary cannot be started
 */
export async function* runZfsChunks(argv: readonly string[], options: Omit<RunZfsOptions, "stdin"> = {}): AsyncGenerator<Uint8Array, void, undefined> {
  const { bin = DEFAULT_ZFS_BIN, signal } = options;
  signal?.throwIfAborted();
  log.debug(`run: ${bin} ${argv.join(" ")}`);
  let proc;
  try {
    proc = Bun.spawn([executableOf(bin), ...argv], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, LC_ALL: "C" } });
  } catch (error) {
    if (isSpawnNotFound(error)) throw new ZfsNotFoundError(bin, error);
    throw error;
  }
  const child = proc;
  const onAbort = (): void => child.kill();
  signal?.addEventListener("abort", onAbort, { once: true });
  const stderr = collectTail(child.stderr, MAX_STDERR_BYTES);
  let finished = false;
  try {
    for await (const chunk of child.stdout) if (chunk.length > 0) yield chunk;
    const exitCode = await child.exited;
    signal?.throwIfAborted();
    if (exitCode !== 0) throw zfsExitError(options.subject ?? describeArgv(argv), { argv, exitCode, stderr: await stderr });
    finished = true;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    if (!finished) {
      child.kill();
      await child.exited;
    }
    await stderr.catch(() => "");
  }
}

/**
 * Yields the lines zfs prints (without their newlines), a chunk's at a time, never an empty batch;
 * errors and early exits as runZfsChunks.
 */
export async function* runZfsLines(argv: readonly string[], options: Omit<RunZfsOptions, "stdin"> = {}): AsyncGenerator<readonly string[], void, undefined> {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of runZfsChunks(argv, options)) {
    // The line cut at the chunk's start joins its first line only: prepended to the whole
    // chunk, it would copy every chunk once more (a wide listing is hundreds of megabytes).
    const lines = decoder.decode(chunk, { stream: true }).split("\n");
    lines[0] = rest + lines[0]!;
    rest = lines.pop()!;
    if (lines.length > 0) yield lines;
  }
  rest += decoder.decode();
  if (rest !== "") yield [rest];
}
