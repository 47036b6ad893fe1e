/**
 * The wire compressor: a `zstd` child between `zfs send` and the framer, and a `zstd -d` child
 * between the deframer and `zfs receive`. Both are wired fd to fd (kernel pipes), so the data path
 * keeps splicing and no stream byte passes through JavaScript; zstd's own threads (`-T`) do the work.
 *
 * Debian's `zstd` binary rather than a library: it is multi-threaded, a package every admin knows,
 * and keeps compression out of our process. `ZFERRY_ZSTD` names another binary (tests use it for a
 * compressor that fails).
 *
 * Byte counts: with `-vv` zstd prints its exact totals on stderr when it ends (`N B => M B` when
 * compressing, `N bytes` when decompressing), which give the stream bytes of a finished transfer;
 * while it runs, /proc/PID/io (what it has read or written) gives a live figure.
 */
import { readFileSync } from "node:fs";
import type { Subprocess } from "bun";
import { logger } from "../log.ts";
import { closeQuietly, makePipe } from "../sys/pipe.ts";
import { collectTail } from "./_tail-buffer.ts";
import { MAX_STDERR_BYTES } from "./errors.ts";
import { executableOf } from "./run.ts";

const log = logger.withTag("zfs");

/** What the wire carries between the two ends of one transfer. */
export interface WireCompression {
  readonly type: "zstd";
  /** zstd level, ZSTD_MIN_LEVEL…ZSTD_MAX_LEVEL. */
  readonly level: number;
  /** zstd worker threads; 0 means one per core (`-T0`). */
  readonly threads: number;
}

/** The compression types a peer may name on the wire. */
export const COMPRESSION_TYPES = ["zstd"] as const;
export const ZSTD_MIN_LEVEL = 1;
/** Levels above 19 need `--ultra` and much more memory on both ends; not offered. */
export const ZSTD_MAX_LEVEL = 19;
export const ZSTD_DEFAULT_LEVEL = 3;

/** The zstd binary: `ZFERRY_ZSTD`, else `zstd` from PATH. */
export function zstdBin(): string {
  return process.env.ZFERRY_ZSTD || "zstd";
}

/** The compression types this host can run (for the server's `info`). */
export function availableCompression(): ("zstd")[] {
  return Bun.which(zstdBin()) ? ["zstd"] : [];
}

/** How a compressor child ended, with zstd's own totals when it printed them. */
export interface CompressorResult {
  readonly exitCode: number;
  readonly signalCode: string | null;
  readonly stderrTail: string;
  /** Uncompressed bytes (the zfs stream), from zstd's summary; null when it printed none. */
  readonly streamBytes: number | null;
}

export interface CompressorProcess {
  readonly argv: readonly string[];
  /** The fd the caller reads (compressor) or writes (decompressor); the caller closes it. */
  readonly fd: number;
  /** Uncompressed bytes so far, from /proc while it runs (0 when /proc does not tell). */
  streamBytes(): number;
  done(): Promise<CompressorResult>;
  kill(signal?: NodeJS.Signals | number): Promise<CompressorResult>;
}

/**
 * Starts `zstd -c` reading `inFd` (the caller closes its copy after this returns); `fd` is the read
 * end of the compressed output.
 * @throws Error when zstd cannot be started (no fd is leaked)
 */
export function startCompressor(inFd: number, compression: WireCompression): CompressorProcess {
  const out = makePipe();
  const argv = ["-c", `-${compression.level}`, `-T${compression.threads}`, "-vv", "--no-progress"];
  const proc = spawnZstd(argv, { stdin: inFd, stdout: out.writeFd }, [out.readFd, out.writeFd]);
  closeQuietly(out.writeFd);
  return track(proc, argv, out.readFd, "rchar");
}

/**
 * Starts `zstd -d -c` writing into `outFd` (the caller closes its copy after this returns); `fd` is
 * the write end of its input, which the caller closes to end the stream.
 * @throws Error when zstd cannot be started (no fd is leaked)
 */
export function startDecompressor(outFd: number): CompressorProcess {
  const input = makePipe();
  const argv = ["-d", "-c", "-vv", "--no-progress"];
  const proc = spawnZstd(argv, { stdin: input.readFd, stdout: outFd }, [input.readFd, input.writeFd]);
  closeQuietly(input.readFd);
  return track(proc, argv, input.writeFd, "wchar");
}

/**
 * The one-line reason a compressor failed, or null when it exited 0. Named for what it did, so a
 * failed transfer says it was the compressor and not zfs: `zstd compression failed: exit 1: …`.
 */
export function compressorFailure(what: "compression" | "decompression", result: CompressorResult): string | null {
  if (result.exitCode === 0) return null;
  const how = result.signalCode ? `killed by ${result.signalCode}` : `exit ${result.exitCode}`;
  const said = lastLine(result.stderrTail);
  return `${zstdBin()} ${what} failed: ${how}${said ? `: ${said}` : ""}`;
}

/** zstd's totals from its `-vv` summary (exported for tests). */
export function parseZstdTotals(stderr: string): number | null {
  const compressed = /\((\d+) B =>\s*(\d+) B/.exec(stderr);
  if (compressed) return Number(compressed[1]);
  const decompressed = /: +(\d+) bytes\s*$/m.exec(stderr);
  return decompressed ? Number(decompressed[1]) : null;
}

// --- internal ---

function spawnZstd(argv: string[], stdio: { stdin: number; stdout: number }, fds: number[]): Subprocess<number, number, "pipe"> {
  const bin = zstdBin();
  try {
    return Bun.spawn([executableOf(bin), ...argv], { ...stdio, stderr: "pipe", env: { ...process.env, LC_ALL: "C" } }) as Subprocess<number, number, "pipe">;
  } catch (error) {
    for (const fd of fds) closeQuietly(fd);
    throw new Error(`Cannot start the compressor ${JSON.stringify(bin)}: ${(error as Error).message}`, { cause: error });
  }
}

function track(proc: Subprocess<number, number, "pipe">, argv: string[], fd: number, counter: "rchar" | "wchar"): CompressorProcess {
  log.debug(`start: ${zstdBin()} ${argv.join(" ")} (pid ${proc.pid})`);
  let last = 0;
  const finished: Promise<CompressorResult> = Promise.all([collectTail(proc.stderr, MAX_STDERR_BYTES), proc.exited]).then(([stderrTail, exitCode]) => {
    const signalCode = typeof proc.signalCode === "string" ? proc.signalCode : null;
    log.debug(`exit: ${zstdBin()} (pid ${proc.pid}) ${signalCode ?? exitCode}`);
    return { exitCode, signalCode, stderrTail, streamBytes: parseZstdTotals(stderrTail) };
  });
  return {
    argv,
    fd,
    streamBytes() {
      if (proc.exitCode !== null || proc.signalCode !== null) return last;
      try {
        const io = readFileSync(`/proc/${proc.pid}/io`, "utf8");
        const m = new RegExp(`^${counter}: (\\d+)$`, "m").exec(io);
        if (m) last = Number(m[1]);
      } catch {
        // gone meanwhile, or /proc hides it: keep the last figure
      }
      return last;
    },
    done: () => finished,
    async kill(signal: NodeJS.Signals | number = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return finished;
    },
  };
}

function lastLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l && !/^(\*\*\*|Using |Sparse |Decompression will)/.test(l));
  return (lines.at(-1) ?? "").slice(0, 300);
}
