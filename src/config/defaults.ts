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
/**
 * Filesystems a job replicates at once. Four keeps both ends' disks and a 2-core host busy. Each
 * worker is one session of the job's shared ssh connection, and sshd allows ten per connection by
 * default (MaxSessions): a worker whose session is refused stops, and the others go on.
 */
export const DEFAULT_CONCURRENCY = 4;
export const MAX_CONCURRENCY = 32;
