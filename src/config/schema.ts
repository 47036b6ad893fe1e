/**
 * The config schema: typed records for both sides, and `parseConfig`, the one function that turns
 * raw TOML into them (sections are read by `_client.ts` and `_job.ts`). All checking happens on
 * the way in, so a Config that exists is a Config that is valid.
 */
import type { LogLevelName } from "../log.ts";
import { DEFAULT_ZFS_BIN, type DatasetName, type ReceivePolicy } from "../zfs/index.ts";
import { at, fail, optional, readDuration, readEnum, readString, readTable, type At, type Table } from "./_read.ts";
import { readClient } from "./_client.ts";
import { readJob } from "./_job.ts";
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_LOCK_DIR, DEFAULT_LOG_LEVEL } from "./defaults.ts";
import { parseIdentity } from "./identity.ts";
import type { DatasetFilter } from "./filter.ts";
import type { SendFlagName, SendOptions } from "./send-flags.ts";

export type InitialPolicy = "most_recent" | "all";

/** A parsed, checked and deeply frozen config file. */
export interface Config {
  /** The file it was read from, for error messages. */
  readonly file: string;
  readonly zfs: ZfsConfig;
  readonly log: LogConfig;
  readonly server: ServerConfig;
  readonly locks: LocksConfig;
  /** `[clients.NAME]`, keyed by identity. A null-prototype record: look up with `Object.hasOwn`. */
  readonly clients: Readonly<Record<string, ClientConfig>>;
  /** `[jobs.NAME]`, keyed by job name. A null-prototype record: look up with `Object.hasOwn`. */
  readonly jobs: Readonly<Record<string, JobConfig>>;
}

export interface ZfsConfig {
  /** A command name looked up in PATH, or an absolute path. */
  readonly bin: string;
}

export interface LogConfig {
  readonly level: LogLevelName;
  /** Absolute path appended to; undefined logs to stderr. */
  readonly file: string | undefined;
}

export interface ServerConfig {
  /** Idle time allowed between and inside requests before the server hangs up. */
  readonly idleTimeoutMs: number;
}

export interface LocksConfig {
  /** Where run locks live (jobs, and dataset trees being written); `ZFERRY_LOCK_DIR` wins over it. */
  readonly dir: string;
}

/** What one identity may do on the serving side. */
export interface ClientConfig {
  readonly identity: string;
  /** What it may list and pull. */
  readonly filesystems: DatasetFilter;
  /** The only subtree it may push into; undefined forbids pushing. */
  readonly receiveRoot: DatasetName | undefined;
  /** What its pushed streams may set on the datasets they create (confined by default). */
  readonly receive: ReceivePolicy;
  /** Send flags it may request; none by default. */
  readonly sendFlags: readonly SendFlagName[];
  /**
   * May it get encrypted datasets decrypted (a send without raw)? Off by default: a backup key
   * then only ever sees ciphertext, however it words its request or a resume token.
   */
  readonly sendDecrypted: boolean;
}

export interface SshConnectConfig {
  readonly type: "ssh";
  readonly host: string;
  readonly user: string;
  readonly port: number;
  /** Absolute or `~/` path; undefined lets ssh pick its default keys. */
  readonly identityFile: string | undefined;
  /** `Key=Value` entries for `ssh -o`, keys from SAFE_SSH_OPTION_KEYS. */
  readonly options: readonly string[];
  /** How long to wait for the server's handshake line, ssh's own connection setup included. */
  readonly handshakeTimeoutMs: number;
}

/** Spawns `zferry stdinserver IDENTITY` with the same config file: both ends on one machine. */
export interface LocalConnectConfig {
  readonly type: "local";
  readonly identity: string;
}

export type ConnectConfig = SshConnectConfig | LocalConnectConfig;

interface JobCommon {
  readonly name: string;
  readonly connect: ConnectConfig;
  /** push: what to send. pull: what to take of what the server offers (default: all of it). */
  readonly filesystems: DatasetFilter;
  readonly initial: InitialPolicy;
  readonly send: SendOptions;
}

export interface PullJobConfig extends JobCommon {
  readonly type: "pull";
  /** Remote `tank/data/x` lands at `<root>/tank/data/x`. */
  readonly root: DatasetName;
  /** What the received streams may set on the datasets they create (confined by default). */
  readonly receive: ReceivePolicy;
}

export interface PushJobConfig extends JobCommon {
  readonly type: "push";
  /** Not used: the server's `receive_root` for this identity decides where pushes land. */
  readonly root: DatasetName | undefined;
}

export type JobConfig = PullJobConfig | PushJobConfig;

/**
 * Checks raw TOML (as smol-toml returns it) against the schema, fills defaults and freezes the result.
 * @param file the path the TOML came from; every error names it
 * @throws ConfigError naming the file, the key path and the reason
 */
export function parseConfig(raw: unknown, file: string): Config {
  const top: At = { file, path: [] };
  const table = readTable(raw, top, ["zfs", "log", "server", "locks", "clients", "jobs"]);

  const zfs = readSection(table, "zfs", top, ["bin"]);
  const log = readSection(table, "log", top, ["level", "file"]);
  const server = readSection(table, "server", top, ["idle_timeout"]);
  const locks = readSection(table, "locks", top, ["dir"]);

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
