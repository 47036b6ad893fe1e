/** Reads one `[jobs.NAME]` table and its `connect` table. */
import { CONFINED_POLICY, type DatasetName } from "../zfs/index.ts";
import { at, fail, optional, readArray, readBoolean, readDuration, readEnum, readInteger, readString, readTable, required, type At } from "./_read.ts";
import { readDatasetName, readFilter } from "./_datasets.ts";
import { readReceivePolicy } from "./_receive.ts";
import { NO_COMPRESSION, readCompression } from "./_compression.ts";
import { parseRateBytes } from "./rate.ts";
import { DEFAULT_CONCURRENCY, DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_SESSIONS_PER_CONNECTION, DEFAULT_SSH_PORT, DEFAULT_SSH_USER, MAX_CONCURRENCY, MAX_SESSIONS_PER_CONNECTION } from "./defaults.ts";
import { readKeepRules, readSnapshotPrefix } from "./_keep.ts";
import type { KeepRule } from "../retention/index.ts";
import { parseIdentity } from "./identity.ts";
import { DatasetFilter } from "./filter.ts";
import type { ClientConfig, ConnectConfig, InitialPolicy, JobConfig } from "./types.ts";
import { SEND_FLAG_NAMES, type SendOptions } from "./send-flags.ts";
import { checkSshOption } from "./ssh-options.ts";

const JOB_KEYS = ["type", "connect", "root", "filesystems", "initial", "send", "receive", "concurrency", "compression", "bandwidth_limit", "snapshot", "keep_sender", "keep_receiver"] as const;
const SSH_KEYS = ["type", "host", "user", "port", "identity_file", "options", "handshake_timeout", "sessions_per_connection"] as const;
const LOCAL_KEYS = ["type", "identity"] as const;
/** Host names, IPv4 and IPv6 literals (with a zone); never a leading "-", which ssh would take for an option. */
const HOST = /^(?!-)[A-Za-z0-9._:%-]{1,253}$/;
const USER = /^(?!-)[A-Za-z0-9._-]{1,32}$/;

/** `clients` is the already parsed `[clients]`, to check a local job's identity against. */
export function readJob(name: string, value: unknown, where: At, clients: Readonly<Record<string, ClientConfig>>): JobConfig {
  const table = readTable(value, where, JOB_KEYS);
  const type = required(table, "type", where, (v, w) => readEnum(v, w, ["pull", "push"] as const));
  const connect = required(table, "connect", where, readConnect);
  const common = {
    name,
    connect,
    initial: optional<InitialPolicy>(table, "initial", where, (v, w) => readEnum(v, w, ["most_recent", "all"] as const), "most_recent"),
    send: optional(table, "send", where, readSendOptions, SEND_NONE),
    concurrency: optional(table, "concurrency", where, (v, w) => readInteger(v, w, { min: 1, max: MAX_CONCURRENCY }), DEFAULT_CONCURRENCY),
    compression: optional(table, "compression", where, readCompression, NO_COMPRESSION),
    bandwidthLimit: optional<number | undefined>(table, "bandwidth_limit", where, readRate, undefined),
    ...readCycle(table, where),
  };
  if (connect.type === "local") checkLocalIdentity(connect.identity, type, at(at(where, "connect"), "identity"), clients);
  if (type === "pull") {
    return {
      ...common,
      type,
      root: required(table, "root", where, readDatasetName),
      filesystems: optional(table, "filesystems", where, readFilter, DatasetFilter.allowAll()),
      receive: optional(table, "receive", where, readReceivePolicy, CONFINED_POLICY),
    };
  }
  if (table.receive !== undefined) fail(at(where, "receive"), `only a pull job receives; a push lands as the server's [clients.NAME] receive says`);
  return {
    ...common,
    type,
    root: optional<DatasetName | undefined>(table, "root", where, readDatasetName, undefined),
    filesystems: required(table, "filesystems", where, readFilter),
  };
}

// --- internal ---

const SEND_NONE: SendOptions = Object.freeze({ raw: false, compressed: false, large_blocks: false, embedded: false, properties: false });

function readConnect(value: unknown, where: At): ConnectConfig {
  const type = required(readTable(value, where), "type", where, (v, w) => readEnum(v, w, ["ssh", "local"] as const));
  if (type === "local") {
    const table = readTable(value, where, LOCAL_KEYS);
    return { type, identity: required(table, "identity", where, readIdentity) };
  }
  const table = readTable(value, where, SSH_KEYS);
  return {
    type,
    host: required(table, "host", where, (v, w) => readMatching(v, w, HOST, "host name or IP address")),
    user: optional(table, "user", where, (v, w) => readMatching(v, w, USER, "user name"), DEFAULT_SSH_USER),
    port: optional(table, "port", where, (v, w) => readInteger(v, w, { min: 1, max: 65535 }), DEFAULT_SSH_PORT),
    identityFile: optional<string | undefined>(table, "identity_file", where, readKeyPath, undefined),
    options: optional(table, "options", where, readSshOptions, []),
    handshakeTimeoutMs: optional(table, "handshake_timeout", where, readDuration, DEFAULT_HANDSHAKE_TIMEOUT_MS),
    sessionsPerConnection: optional(table, "sessions_per_connection", where, (v, w) => readInteger(v, w, { min: 1, max: MAX_SESSIONS_PER_CONNECTION }), DEFAULT_SESSIONS_PER_CONNECTION),
  };
}

/** The snapshot prefix and the keep rules; pruning needs the prefix, which picks its candidates. */
function readCycle(table: Readonly<Record<string, unknown>>, where: At): { snapshotPrefix: string | undefined; keepSender: KeepRule[] | undefined; keepReceiver: KeepRule[] | undefined } {
  const snapshotPrefix = optional<string | undefined>(table, "snapshot", where, readSnapshotPrefix, undefined);
  const keepSender = optional<KeepRule[] | undefined>(table, "keep_sender", where, (v, w) => readKeepRules(v, w, "sender"), undefined);
  const keepReceiver = optional<KeepRule[] | undefined>(table, "keep_receiver", where, (v, w) => readKeepRules(v, w, "receiver"), undefined);
  for (const key of ["keep_sender", "keep_receiver"] as const) {
    if (table[key] !== undefined && snapshotPrefix === undefined) {
      fail(at(where, key), `pruning needs snapshot = { prefix = "…" } in this job: only snapshots with that prefix are candidates`);
    }
  }
  return { snapshotPrefix, keepSender, keepReceiver };
}

function readSendOptions(value: unknown, where: At): SendOptions {
  const table = readTable(value, where, SEND_FLAG_NAMES);
  const options = { ...SEND_NONE };
  for (const flag of SEND_FLAG_NAMES) options[flag] = optional(table, flag, where, readBoolean, false);
  return options;
}

function readSshOptions(value: unknown, where: At): string[] {
  return readArray(value, where).map((item, i) => {
    const entry = readString(item, at(where, i));
    try {
      return checkSshOption(entry);
    } catch (cause) {
      return fail(at(where, i), (cause as Error).message, { cause });
    }
  });
}

function readRate(value: unknown, where: At): number {
  try {
    return parseRateBytes(value);
  } catch (cause) {
    return fail(where, (cause as Error).message, { cause });
  }
}

function readIdentity(value: unknown, where: At): string {
  try {
    return parseIdentity(readString(value, where));
  } catch (cause) {
    return fail(where, (cause as Error).message, { cause });
  }
}

/** An identity file as ssh takes it: absolute, or below the home directory (`~/`). */
function readKeyPath(value: unknown, where: At): string {
  const path = readString(value, where);
  if (!path.startsWith("/") && !path.startsWith("~/")) fail(where, `must be an absolute path or start with "~/", got ${JSON.stringify(path)}`);
  return path;
}

function readMatching(value: unknown, where: At, pattern: RegExp, what: string): string {
  const s = readString(value, where);
  if (!pattern.test(s)) fail(where, `${JSON.stringify(s)} is not a valid ${what}`);
  return s;
}

function checkLocalIdentity(identity: string, type: "pull" | "push", where: At, clients: Readonly<Record<string, ClientConfig>>): void {
  const client = Object.hasOwn(clients, identity) ? clients[identity] : undefined;
  if (!client) fail(where, `unknown client ${JSON.stringify(identity)}: not in [clients]`);
  if (type === "push" && client.receiveRoot === undefined) {
    fail(where, `client ${JSON.stringify(identity)} has no receive_root, so it cannot be pushed to`);
  }
}
