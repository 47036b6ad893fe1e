/**
 * A child process's stdin/stdout as a connection: `ssh … ` to a remote stdinserver, or a local
 * `zferry stdinserver`. Both directions are real pipes we make ourselves (Bun's "pipe" is a
 * socketpair, slower and unusable for splice). The child's stderr is kept as a bounded tail for
 * error messages (ssh explains its failures there) and logged line by line at debug.
 */
import { logger } from "../log.ts";
import { closeQuietly, makePipe } from "../sys/pipe.ts";
import { FdSink, FdSource } from "./fd.ts";
import type { ServerDuplex } from "./types.ts";

const STDERR_TAIL_BYTES = 16 << 10;
const log = logger.withTag("transport");

export interface ChildDuplex extends ServerDuplex {
  readonly pid: number;
}

/** Spawns `argv` (no shell) and connects to its stdin/stdout. */
export function spawnChildDuplex(argv: readonly string[], options: { label?: string; env?: Record<string, string | undefined> } = {}): ChildDuplex {
  const toChild = makePipe();
  const fromChild = makePipe();
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn([...argv], {
      stdin: toChild.readFd,
      stdout: fromChild.writeFd,
      stderr: "pipe",
      env: options.env ?? process.env,
    });
  } catch (err) {
    for (const fd of [toChild.readFd, toChild.writeFd, fromChild.readFd, fromChild.writeFd]) closeQuietly(fd);
    throw new Error(`Cannot start ${JSON.stringify(argv[0])}: ${(err as Error).message}`, { cause: err });
  } finally {
    // The child has its own copies now; ours would keep EOF from ever arriving.
    closeQuietly(toChild.readFd);
    closeQuietly(fromChild.writeFd);
  }
  const label = options.label ?? argv.join(" ");
  let tail = "";
  const stderrDone = collectStderr(proc.stderr as ReadableStream<Uint8Array>, label, (text) => {
    tail = (tail + text).slice(-STDERR_TAIL_BYTES);
  });
  const sink = new FdSink(toChild.writeFd, { closeOnEnd: true });
  const source = new FdSource(fromChild.readFd);
  let closed: Promise<void> | null = null;
  return {
    source,
    sink,
    label,
    pid: proc.pid,
    exited: proc.exited,
    diagnostics: () => tail.trim(),
    close() {
      closed ??= (async () => {
        await sink.end(); // EOF tells a well-behaved child to finish
        const exited = await Promise.race([proc.exited, Bun.sleep(2_000).then(() => null)]);
        if (exited === null) {
          proc.kill("SIGTERM");
          const again = await Promise.race([proc.exited, Bun.sleep(2_000).then(() => null)]);
          if (again === null) proc.kill("SIGKILL");
          await proc.exited;
        }
        await stderrDone;
        source.close();
        closeQuietly(fromChild.readFd);
      })();
      return closed;
    },
  };
}

async function collectStderr(stream: ReadableStream<Uint8Array>, label: string, onText: (t: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  try {
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      onText(text);
      for (const line of text.split("\n")) if (line.trim()) log.debug(`${label}: ${line.trimEnd()}`);
    }
  } catch {
    // the child is gone; its stderr ends with it
  }
}
