/** Where run locks live: `$ZFERRY_LOCK_DIR`, else `[locks] dir`, else /run/zferry. */
import type { Config } from "./types.ts";

/**
 * The lock directory. Both ends of a local connection, and every job and stdinserver on one
 * machine, must agree on it: a lock only excludes the processes that look in the same place.
 */
export function lockDirOf(config: Pick<Config, "locks">, env: Readonly<Record<string, string | undefined>> = process.env): string {
  const fromEnv = env.ZFERRY_LOCK_DIR;
  return fromEnv === undefined || fromEnv === "" ? config.locks.dir : fromEnv;
}
