/**
 * Logging for every layer. Output goes to stderr or a file, never stdout: in `stdinserver`, stdout
 * is the wire. consola's default reporters print info and debug to stdout, and
 * `process.stderr.write` turns fd 2 non-blocking, so the reporter here writes with `writeSync`.
 */
// consola/core, not "consola": the full entry touches process.stdout at import, which turns fd 1
// non-blocking under Bun (measured) and would break synchronous writes of frames to the wire.
import { createConsola, type ConsolaInstance, type LogObject } from "consola/core";
import { closeSync, openSync, writeSync } from "node:fs";
import { format } from "node:util";

export type LogLevelName = "error" | "warn" | "info" | "debug";

const LEVELS: Record<LogLevelName, number> = { error: 0, warn: 1, info: 3, debug: 4 };
const TYPE_LABEL: Record<string, string> = { fatal: "ERROR", error: "ERROR", warn: "WARN", log: "INFO", info: "INFO", success: "INFO", start: "INFO", ready: "INFO", box: "INFO", debug: "DEBUG", trace: "DEBUG", verbose: "DEBUG" };

let targetFd = 2;
let ownsTarget = false;
/**
 * What is written: the level lives here, not in the loggers, because a tagged logger copies its
 * parent's level when it is made (at import), so a level set later from the config would not
 * reach it.
 */
let threshold = levelFromEnv();

/** The root logger; layers take `logger.withTag("zfs")` and friends. Every entry reaches `report`, which filters. */
export const logger: ConsolaInstance = createConsola({
  level: LEVELS.debug,
  reporters: [{ log: report }],
});

/**
 * A logger whose every entry is written at debug level, tagged `tag`: a server run inside the
 * client's process speaks as a spawned one's stderr did (which the client logs at debug), so its
 * per-call lines do not fill the client's terminal.
 */
export function debugOnlyLogger(tag: string): ConsolaInstance {
  return createConsola({
    level: LEVELS.debug,
    reporters: [{ log: (entry) => report({ ...entry, level: LEVELS.debug, type: "debug" }) }],
  }).withTag(tag);
}

/**
 * Points all logging at a level and a target: a file path (appended to) or stderr when omitted.
 * @throws Error when the log file cannot be opened
 */
export function configureLogging(options: { level?: LogLevelName; file?: string }): void {
  if (options.level) threshold = LEVELS[options.level];
  if (options.file) {
    const fd = openSync(options.file, "a", 0o640);
    if (ownsTarget) closeSync(targetFd);
    targetFd = fd;
    ownsTarget = true;
  }
}

/** Writes one line to stderr directly (CLI errors that must show even when logging goes to a file). */
export function writeStderrLine(line: string): void {
  writeAll(2, `${line}\n`);
}

// --- internal ---

function report(entry: LogObject): void {
  if (entry.level > threshold) return;
  const label = TYPE_LABEL[entry.type] ?? entry.type.toUpperCase();
  const tag = entry.tag ? ` [${entry.tag}]` : "";
  const text = entry.args
    .map((a) => (a instanceof Error ? (entry.level >= 4 ? a.stack ?? a.message : a.message) : typeof a === "string" ? a : format("%o", a)))
    .join(" ");
  writeAll(targetFd, `${entry.date.toISOString()} ${label}${tag} ${text}\n`);
}

function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  try {
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
  } catch {
    // A closed stderr must not take the server down with it.
  }
}

function levelFromEnv(): number {
  const name = (process.env.ZFERRY_LOG_LEVEL ?? "info") as LogLevelName;
  return LEVELS[name] ?? LEVELS.info;
}
