/** Finds, reads and parses the config file. */
import { readFileSync } from "node:fs";
import { parse, TomlError } from "smol-toml";
import { ConfigError } from "./config-error.ts";
import { DEFAULT_CONFIG_PATH } from "./defaults.ts";
import { parseConfig } from "./schema.ts";
import type { Config } from "./types.ts";

/** The config path when none is given: `$ZFERRY_CONFIG`, else `/etc/zferry/zferry.toml`. */
export function defaultConfigPath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const fromEnv = env.ZFERRY_CONFIG;
  return fromEnv === undefined || fromEnv === "" ? DEFAULT_CONFIG_PATH : fromEnv;
}

/**
 * Reads and checks the config: `path`, else {@link defaultConfigPath}. Synchronous: it runs once at
 * start-up, before anything else can use the event loop.
 * @throws ConfigError for a missing or unreadable file, a TOML syntax error (with line and column),
 *   or a schema violation (with the key path)
 */
export function loadConfig(path?: string): Config {
  const file = path ?? defaultConfigPath();
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    throw new ConfigError(file, "", `cannot read config file: ${describeReadError(cause)}`, { cause });
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (cause) {
    if (!(cause instanceof TomlError)) throw cause;
    // smol-toml's message is "Invalid TOML document: <reason>" followed by a code excerpt.
    const reason = (cause.message.split("\n")[0] ?? "").replace(/^Invalid TOML document: /, "");
    throw new ConfigError(file, "", `invalid TOML: ${reason}`, { cause, line: cause.line, column: cause.column });
  }
  return parseConfig(raw, file);
}

// --- internal ---

function describeReadError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "is a directory";
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
