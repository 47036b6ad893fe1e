/** Values used for keys a config file leaves out. */
import type { LogLevelName } from "../log.ts";

export const DEFAULT_CONFIG_PATH = "/etc/zferry/zferry.toml";
export const DEFAULT_LOG_LEVEL: LogLevelName = "info";
/** Run locks: on tmpfs, so a power loss leaves none behind, where admins look for such files. */
export const DEFAULT_LOCK_DIR = "/run/zferry";
export const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_SSH_PORT = 22;
/** The protocol's HANDSHAKE_TIMEOUT_MS; a job may wait longer for a slow link or a slow server host. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** The forced-command setup runs the server as root (`PermitRootLogin forced-commands-only`). */
export const DEFAULT_SSH_USER = "root";
/** Filesystems a job replicates at once. Four keeps both ends' disks and a 2-core host busy. */
export const DEFAULT_CONCURRENCY = 4;
export const MAX_CONCURRENCY = 32;
/**
 * Workers' sessions per ssh connection (OpenSSH connection sharing). A connection's encryption is
 * one process on each side, one core's worth: on a 2-core host with AES instructions, a pull of
 * large filesystems by four workers ran at 0.80× four separate `zfs send | ssh` pipelines on one
 * connection, at 0.99× on two connections of two sessions (medians of four runs; one session per
 * connection: 0.98×). Two halves the logins and keeps encryption on more than one core.
 * The most is sshd's default MaxSessions (10); a session sshd refuses over a shared connection,
 * ssh opens with a login of its own.
 */
export const DEFAULT_SESSIONS_PER_CONNECTION = 2;
export const MAX_SESSIONS_PER_CONNECTION = 10;
