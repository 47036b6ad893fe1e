/**
 * The live progress line of one transfer: bytes so far, rate, and an ETA when the sender gave an
 * estimate. Bytes come from our own frame counters (the RPC layer's probe), never from
 * `zfs send -v`. One line on a terminal, rewritten in place with `\r`; nothing at all otherwise,
 * so logs and pipes only get the plan and the summary.
 *
 * Time and output are injected (`now`, `write`, `schedule`), so tests compare exact lines.
 */
import type { ProgressProbe } from "../rpc/index.ts";
import { formatBytes, formatDuration, formatRate } from "./_format.ts";

/** How often the line is redrawn. */
export const PROGRESS_INTERVAL_MS = 400;

export interface ProgressOptions {
  /** Writes raw text to the terminal (stderr). */
  write: (text: string) => void;
  now?: () => number;
  /** Runs `fn` every `ms` and returns a function that stops it; default setInterval (unref'd). */
  schedule?: (fn: () => void, ms: number) => () => void;
  /** Terminal width; longer lines are cut so `\r` can rewrite them. */
  columns?: number;
}

export interface ProgressStart {
  /** What moves, e.g. `tank/data@s1 → s2`. */
  label: string;
  /** Expected stream size, or null when the sender cannot estimate (zfs-fuse). */
  estimate: bigint | null;
  /** Filled by the RPC layer once the stream starts. */
  probe: ProgressProbe;
  /** Stream bytes, where they differ from the probe's wire bytes (compression). */
  stream?: () => number;
}

/** Starts progress lines; create with {@link createProgress} or use {@link NO_PROGRESS}. */
export interface Progress {
  start(what: ProgressStart): ProgressLine;
  /**
   * Switches to one line for a whole job of parallel transfers until the result is stopped:
   * filesystems done of total, bytes of the estimated total, rate, ETA, and what is in flight.
   */
  job(total: JobTotal): JobProgress;
}

export interface JobTotal {
  readonly filesystems: number;
  /** Sum of the estimates, or null when some transfer has none. */
  readonly estimate: bigint | null;
}

export interface JobProgress {
  /** One more filesystem finished (done or failed); `bytes` it moved stay counted. */
  finished(bytes: number): void;
  stop(): void;
}

export interface ProgressLine {
  /** Redraws the line now (the timer calls this). */
  tick(): void;
  /** Stops the timer and clears the line. */
  stop(): void;
}

/** Progress that draws nothing: not a terminal. */
export const NO_PROGRESS: Progress = { start: () => ({ tick() {}, stop() {} }), job: () => ({ finished() {}, stop() {} }) };

export function createProgress(options: ProgressOptions): Progress {
  const { write, now = () => performance.now(), schedule = defaultSchedule, columns = 100 } = options;
  let job: { total: JobTotal; started: number; done: number; doneBytes: number; inFlight: Set<ProgressStart> } | null = null;
  const drawJob = (): void => {
    if (!job) return;
    const live = [...job.inFlight];
    const bytes = job.doneBytes + live.reduce((sum, w) => sum + w.probe.bytes(), 0);
    write(`\r${fit(renderJobProgress({ ...job, bytes, inFlight: live.map((w) => w.label) }, now() - job.started), columns)}\x1b[K`);
  };
  return {
    job(total) {
      const current = { total, started: now(), done: 0, doneBytes: 0, inFlight: new Set<ProgressStart>() };
      job = current;
      const cancel = schedule(drawJob, PROGRESS_INTERVAL_MS);
      return {
        finished(bytes) {
          current.done++;
          current.doneBytes += bytes;
        },
        stop() {
          cancel();
          if (job === current) write("\r\x1b[K");
          job = null;
        },
      };
    },
    start(what) {
      if (job) {
        const current = job;
        current.inFlight.add(what);
        return { tick: drawJob, stop: () => void current.inFlight.delete(what) };
      }
      const started = now();
      let drawn = false;
      const line: ProgressLine = {
        tick() {
          write(`\r${fit(renderProgress(what, now() - started), columns)}\x1b[K`);
          drawn = true;
        },
        stop() {
          cancel();
          if (drawn) write("\r\x1b[K");
          drawn = false;
        },
      };
      const cancel = schedule(() => line.tick(), PROGRESS_INTERVAL_MS);
      return line;
    },
  };
}

/**
 * The text of a progress line after `elapsedMs`:
 * `tank/a@s1 → s2  12.0 MiB / 40.0 MiB (30%)  6.0 MiB/s  ETA 4.7 s`; with compression the
 * stream's figures, then the wire's: `… 6.0 MiB/s  wire 3.1 MiB (26%)  ETA 4.7 s`.
 */
export function renderProgress(what: ProgressStart, elapsedMs: number): string {
  const wire = what.probe.bytes();
  const bytes = what.stream ? what.stream() : wire;
  const parts = [what.label];
  const estimate = what.estimate === null ? null : Number(what.estimate);
  if (estimate !== null && estimate > 0) {
    const pct = Math.min(100, Math.floor((bytes * 100) / estimate));
    parts.push(`${formatBytes(bytes)} / ${formatBytes(estimate)} (${pct}%)`);
  } else {
    parts.push(formatBytes(bytes));
  }
  parts.push(formatRate(bytes, elapsedMs));
  if (what.stream) parts.push(`wire ${formatBytes(wire)}${bytes > 0 ? ` (${Math.round((wire * 100) / bytes)}%)` : ""}`);
  if (estimate !== null && estimate > 0 && bytes > 0 && elapsedMs > 0) {
    const remaining = Math.max(0, estimate - bytes);
    parts.push(`ETA ${formatDuration((remaining * elapsedMs) / bytes)}`);
  }
  return parts.join("  ");
}

/**
 * The job line after `elapsedMs`:
 * `3/10 filesystems  1.2 GiB / 4.0 GiB (30%)  50.0 MiB/s  ETA 56 s  | tank/a@s1 → s2, tank/b@s1`.
 */
export function renderJobProgress(job: { total: JobTotal; done: number; bytes: number; inFlight: readonly string[] }, elapsedMs: number): string {
  const { total, done, bytes, inFlight } = job;
  const parts = [`${done}/${total.filesystems} filesystems`];
  const estimate = total.estimate === null ? null : Number(total.estimate);
  if (estimate !== null && estimate > 0) parts.push(`${formatBytes(bytes)} / ${formatBytes(estimate)} (${Math.min(100, Math.floor((bytes * 100) / estimate))}%)`);
  else parts.push(formatBytes(bytes));
  parts.push(formatRate(bytes, elapsedMs));
  if (estimate !== null && estimate > 0 && bytes > 0 && elapsedMs > 0) parts.push(`ETA ${formatDuration((Math.max(0, estimate - bytes) * elapsedMs) / bytes)}`);
  const line = parts.join("  ");
  return inFlight.length ? `${line}  | ${inFlight.join(", ")}` : line;
}

/**
 * True when progress lines make sense on `fd`: a terminal that is not "dumb".
 * (Colour is a separate question: see {@link useColor}.)
 */
export function isProgressTerminal(isTTY: boolean, env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  return isTTY && env.TERM !== "dumb";
}

/** Colour only on a terminal, and never under NO_COLOR, TERM=dumb or CI (citty's rules). */
export function useColor(isTTY: boolean, env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  return isTTY && env.NO_COLOR === undefined && env.TERM !== "dumb" && env.CI === undefined;
}

// --- internal ---

function defaultSchedule(fn: () => void, ms: number): () => void {
  const timer = setInterval(fn, ms);
  timer.unref?.();
  return () => clearInterval(timer);
}

function fit(text: string, columns: number): string {
  const max = Math.max(20, columns - 1);
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
