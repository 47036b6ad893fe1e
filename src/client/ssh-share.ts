/**
 * One ssh connection for all of a job's workers (OpenSSH connection sharing): the first session
 * is the master, the others are opened over its socket without a new key exchange or
 * authentication. Each is still its own session, so sshd runs the forced command for each: the
 * server stays in charge of what every worker may do.
 *
 * The socket lives in a directory of our own (mode 0700) that goes when the job ends. A job whose
 * ssh options set ControlMaster or ControlPath itself keeps them, and nothing is added.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SshConnectConfig } from "../config/index.ts";

export interface SshShare extends Disposable {
  /** Options for the first connection, which becomes the master. */
  readonly master: readonly string[];
  /** Options for the others: over the master's socket (a plain connection if it is gone). */
  readonly session: readonly string[];
}

const NONE: SshShare = { master: [], session: [], [Symbol.dispose]() {} };

/** Connection sharing for `target`, or none when its options configure sharing themselves. */
export function sshShare(target: SshConnectConfig): SshShare {
  if (target.options.some((o) => /^control(master|path)=/i.test(o))) return NONE;
  // Short: a unix socket path holds 108 bytes, and %C is 40 of them.
  const dir = mkdtempSync(join(process.env.XDG_RUNTIME_DIR || tmpdir(), "zferry-ssh-"));
  const path = `ControlPath=${join(dir, "%C")}`;
  return {
    master: ["-o", "ControlMaster=yes", "-o", path, "-o", "ControlPersist=no"],
    session: ["-o", "ControlMaster=no", "-o", path],
    [Symbol.dispose]() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
