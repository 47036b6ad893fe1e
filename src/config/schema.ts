/**
 * The config schema: `parseConfig`, the one function that turns raw TOML into the typed records of
 * `types.ts` (sections are read by `_client.ts` and `_job.ts`). All checking happens on the way in,
 * so a Config that exists is a Config that is valid.
 */
import type { LogLevelName } from "../log.ts";
import { DEFAULT_ZFS_BIN } from "../zfs/index.ts";
import { at, fail, optional, readDuration, readEnum, readString, readTable, type At, type Table } from "./_read.ts";
import { readClient } from "./_client.ts";
import { readJob } from "./_job.ts";
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_LOCK_DIR, DEFAULT_LOG_LEVEL } from "./defaults.ts";
import { parseIdentity } from "./identity.ts";
import type { ClientConfig, Config, JobConfig } from "./types.ts";


/**
 * Checks raw TOML (as smol-toml returns it) against the schema, fills defaults and freezes the result.
 * @param file the path the TOML came from; every error names it
 * @throws ConfigError naming the file, the key path and the reason
 */
export function parseConfig(raw: unknown, file: string): Config {
  const top: At = { file, path: [] };
  const table = readTable(raw, top, ["zfs", "log", "server", "locks", "metrics", "clients", "jobs"]);

  const zfs = readSection(table, "zfs", top, ["bin"]);
  const log = readSection(table, "log", top, ["level", "file"]);
  const server = readSection(table, "server", top, ["idle_timeout"]);
  const locks = readSection(table, "locks", top, ["dir"]);
  const metrics = readSection(table, "metrics", top, ["textfile"]);

  const clients: Record<string, ClientConfig> = Object.create(null);
  for (const [identity, value] of entriesOf(table, "clients", top)) clients[identity] = readClient(identity, value, at(at(top, "clients"), identity));

  const jobs: Record<string, JobConfig> = Object.create(null);
  for (const [name, value] of entriesOf(table, "jobs", top)) jobs[name] = readJob(name, value, at(at(top, "jobs"), name), clients);

  return deepFreeze({
    file,
    zfs: { bin: optional(zfs, "bin", at(top, "zfs"), readCommand, DEFAULT_ZFS_BIN) },
    log: {
      level: optional(log, "level", at(top, "log"), readLogLevel, DEFAULT_LOG_LEVEL),
      file: optional(log, "file", at(top, "log"), readAbsolutePath, undefined),
    },
    server: { idleTimeoutMs: optional(server, "idle_timeout", at(top, "server"), readDuration, DEFAULT_IDLE_TIMEOUT_MS) },
    locks: { dir: optional(locks, "dir", at(top, "locks"), readAbsolutePath, DEFAULT_LOCK_DIR) },
    metrics: { textfile: optional(metrics, "textfile", at(top, "metrics"), readTextfilePath, undefined) },
    clients,
    jobs,
  });
}

// --- internal ---

/** Reads an absolute path (a relative one would depend on the cwd sshd happens to give us). */
function readAbsolutePath(value: unknown, where: At): string {
  const path = readString(value, where);
  if (!path.startsWith("/")) fail(where, `must be an absolute path, got ${JSON.stringify(path)}`);
  return path;
}

/** node_exporter's textfile collector reads only `*.prom` files: any other name would never be seen. */
function readTextfilePath(value: unknown, where: At): string {
  const path = readAbsolutePath(value, where);
  if (!path.endsWith(".prom") || path.endsWith("/.prom")) fail(where, `must name a file ending in ".prom" (node_exporter's textfile collector reads no other), got ${JSON.stringify(path)}`);
  return path;
}

function readSection(table: Table, key: string, top: At, keys: readonly string[]): Table {
  return optional(table, key, top, (value, where) => readTable(value, where, keys), {});
}

/** The entries of a `[clients]`/`[jobs]` table, each key checked as an identity. */
function entriesOf(table: Table, key: string, top: At): [string, unknown][] {
  const section = optional(table, key, top, readTable, {});
  return Object.entries(section).map(([name, value]) => {
    try {
      return [parseIdentity(name), value];
    } catch (cause) {
      return fail(at(at(top, key), name), (cause as Error).message, { cause });
    }
  });
}

function readCommand(value: unknown, where: At): string {
  const bin = readString(value, where);
  if (bin.includes("/") && !bin.startsWith("/")) fail(where, `must be a command name or an absolute path, got ${JSON.stringify(bin)}`);
  return bin;
}

function readLogLevel(value: unknown, where: At): LogLevelName {
  return readEnum(value, where, ["error", "warn", "info", "debug"] as const);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
