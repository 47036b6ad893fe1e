/**
 * The typed, frozen config that `parseConfig` (schema.ts) makes from TOML. Types only: the readers
 * (schema.ts, _client.ts, _job.ts) import them from here, so none imports back from schema.ts.
 */
import type { DatasetName, ReceivePolicy } from "../zfs/index.ts";
import type { LogLevelName } from "../log.ts";
import type { DatasetFilter } from "./filter.ts";
import type { SendFlagName, SendOptions } from "./send-flags.ts";
import type { KeepRule } from "../retention/index.ts";

export type InitialPolicy = "most_recent" | "all";

/** A parsed, checked and deeply frozen config file. */
export interface Config {
  /** The file it was read from, for error messages. */
  readonly file: string;
  readonly zfs: ZfsConfig;
  readonly log: LogConfig;
  readonly server: ServerConfig;
  readonly locks: LocksConfig;
  readonly metrics: MetricsConfig;
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

export interface MetricsConfig {
  /**
   * A node_exporter textfile-collector file (absolute, ending in `.prom`) that each pull or push
   * run updates with its job's series; undefined writes none.
   */
  readonly textfile: string | undefined;
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
  /**
   * The most wire bytes per second a send to it may use (`bandwidth_limit`), whatever its job
   * asks; undefined: the job's own limit, or none.
   */
  readonly bandwidthLimit: number | undefined;
  /** `snapshot = { prefix }`: it may ask for snapshots named `<prefix><time>` in its filesystems. */
  readonly snapshotPrefix: string | undefined;
  /** `prune = true`: it may destroy snapshots with its prefix in its filesystems (never its base, nor held ones). */
  readonly prune: boolean;
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
  /** Workers' sessions sharing one ssh connection (`sessions_per_connection`); 1 shares none. */
  readonly sessionsPerConnection: number;
}

/** Both ends on one machine: the job serves IDENTITY of the same config inside its own process. */
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
  /** Filesystems replicated at the same time, each on its own connection; 1 keeps strict order. */
  readonly concurrency: number;
  /** Compression on the wire (`compression`); type "none" by default. */
  readonly compression: CompressionConfig;
  /** `bandwidth_limit` in wire bytes per second (after compression); undefined: no limit. */
  readonly bandwidthLimit: number | undefined;
  /** `snapshot = { prefix }`: `zferry run` takes `<prefix><UTC time>` snapshots; undefined takes none. */
  readonly snapshotPrefix: string | undefined;
  /** Rules for the sending side (push: here; pull: the server); undefined prunes nothing there. */
  readonly keepSender: readonly KeepRule[] | undefined;
  /** Rules for the receiving side; undefined prunes nothing there. */
  readonly keepReceiver: readonly KeepRule[] | undefined;
}

/** A job's `compression`: what the wire carries between `zfs send` and `zfs receive`. */
export interface CompressionConfig {
  readonly type: "none" | "zstd";
  /** zstd level (1..19, default 3). */
  readonly level: number;
  /** zstd worker threads; 0 (the default) is one per core. */
  readonly threads: number;
  /**
   * When the server cannot compress: "error" (the default: the job asked for it, and a link sized
   * for compressed streams may not carry the plain ones) or "none" (transfer uncompressed, noted in
   * the output).
   */
  readonly fallback: "error" | "none";
  /** Compress raw (`-w`) and compressed (`-c`) sends too, whose blocks rarely shrink further. */
  readonly force: boolean;
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
