/**
 * Config: one TOML file for both sides, parsed once into a typed, deeply frozen `Config`.
 *
 * Everything that reads settings takes a `Config` (or a part of it) from here; nothing downstream
 * reads raw TOML or re-checks names. Dataset patterns arrive compiled as `DatasetFilter`s, dataset
 * names as checked `DatasetName`s, and every error is a `ConfigError` naming the file, the key path
 * and the reason. This layer reads one file and nothing else: no zfs, no network, no stdout.
 */
export { ConfigError } from "./config-error.ts";
export { DEFAULT_CONFIG_PATH, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_LOCK_DIR, DEFAULT_LOG_LEVEL, DEFAULT_SSH_PORT, DEFAULT_SSH_USER } from "./defaults.ts";
export { MAX_DURATION_MS, parseDurationMs } from "./duration.ts";
export { DatasetFilter, FilterError } from "./filter.ts";
export { MAX_IDENTITY_LENGTH, parseIdentity } from "./identity.ts";
export { defaultConfigPath, loadConfig } from "./load.ts";
export { lockDirOf } from "./lock-dir.ts";
export { parseConfig } from "./schema.ts";
export type { ClientConfig, CompressionConfig, Config, ConnectConfig, InitialPolicy, JobConfig, LocalConnectConfig, LocksConfig, LogConfig, MetricsConfig, PullJobConfig, PushJobConfig, ServerConfig, SshConnectConfig, ZfsConfig } from "./types.ts";
export { enabledSendFlags, SEND_FLAG_NAMES, type SendFlagName, type SendOptions } from "./send-flags.ts";
export { SAFE_SSH_OPTION_KEYS } from "./ssh-options.ts";
export { MIN_RATE_BYTES, parseRateBytes } from "./rate.ts";
