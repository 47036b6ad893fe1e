/**
 * Where the client's text goes: the plan, per-filesystem results and the summary on stdout (so a
 * cron mail or a pipe keeps them), failures on stderr, the live progress line on stderr when it is
 * a terminal. Writes are synchronous (`writeSync`), like log.ts, so nothing is lost on exit; the
 * process's stdout/stderr streams are never touched, since creating them turns the fds non-blocking
 * (and then `writeSync` can fail with EAGAIN). The terminal width therefore comes from $COLUMNS.
 */
import { writeSync } from "node:fs";
import { isatty } from "node:tty";
import { NO_PROGRESS, createProgress, isProgressTerminal, useColor, type Progress } from "./progress.ts";

export interface ClientOutput {
  /** One line of plan, result or summary (stdout). */
  line(text: string): void;
  /** Lines written together (the plan of a wide job: one write, not one per filesystem). */
  lineBlock(texts: readonly string[]): void;
  /** One line about a failure (stderr). */
  error(text: string): void;
  readonly progress: Progress;
  /** Wraps text in a colour when the error stream is a colour terminal. */
  red(text: string): string;
}

/**
 * The process's stdout/stderr, with progress and colour only where stderr is a terminal.
 * @param options.textToStderr the lines go to stderr too (`--json`: stdout holds one document)
 */
export function terminalOutput(env: Readonly<Record<string, string | undefined>> = process.env, options: { textToStderr?: boolean } = {}): ClientOutput {
  const tty = isatty(2);
  const color = useColor(tty, env);
  const lineFd = options.textToStderr ? 2 : 1;
  return {
    line: (text) => writeAll(lineFd, `${text}\n`),
    lineBlock: (texts) => {
      for (let i = 0; i < texts.length; i += LINES_PER_WRITE) writeAll(lineFd, `${texts.slice(i, i + LINES_PER_WRITE).join("\n")}\n`);
    },
    error: (text) => writeAll(2, `${text}\n`),
    progress: isProgressTerminal(tty, env) ? createProgress({ write: (t) => writeAll(2, t), columns: Number(env.COLUMNS) || 80 }) : NO_PROGRESS,
    red: (text) => (color ? `\x1b[31m${text}\x1b[39m` : text),
  };
}

/** Collects lines in memory (tests, and callers that print elsewhere). */
export function memoryOutput(): ClientOutput & { readonly lines: string[]; readonly errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, line: (t) => void lines.push(t), lineBlock: (ts) => ts.forEach((t) => lines.push(t)), error: (t) => void errors.push(t), progress: NO_PROGRESS, red: (t) => t };
}

/** Writes to stdout whole, synchronously (the `--json` document). */
export function writeStdout(text: string): void {
  writeAll(1, text);
}

// --- internal ---

/** Lines per write of `lineBlock`: some 100 KiB of plan at most. */
const LINES_PER_WRITE = 1024;

function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  try {
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
  } catch {
    // A closed stdout (e.g. `| head`) must not turn a finished replication into a failure.
  }
}
