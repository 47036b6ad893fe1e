/**
 * A job's ssh connections, each shared by up to `sessions_per_connection` of its workers (OpenSSH
 * connection sharing): the first session on a connection is its master, the others are opened
 * over its socket without a new key exchange or authentication. Each is still its own session, so
 * sshd runs the forced command for each: the server stays in charge of what every worker may do.
 * More than one connection, because a connection's encryption is one process on each side.
 *
 * Each connection's socket lives in a directory of our own (mode 0700) that goes when the job
 * ends. A job whose ssh options set ControlMaster or ControlPath itself keeps them, and nothing is
 * added.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SshConnectConfig } from "../config/index.ts";

export interface SshConnections extends Disposable {
  /**
   * Opens the next session with `open`, given the ssh options that put it on its connection: a
   * new connection's master, or a session over a master already opened (a plain connection if
   * that master is gone or failed).
   */
  session<T>(open: (sshOptions: readonly string[]) => Promise<T>): Promise<T>;
}

/** Connection sharing for `target`, or null where there is none to do. */
export function sshConnections(target: SshConnectConfig, concurrency: number): SshConnections | null {
  if (concurrency < 2 || target.sessionsPerConnection < 2) return null;
  if (target.options.some((o) => /^control(master|path)=/i.test(o))) return null;
  const connections: { dir: string; master: Promise<unknown> }[] = [];
  let opened = 0;
  return {
    async session(open) {
      const index = Math.floor(opened++ / target.sessionsPerConnection);
      const connection = connections[index];
      if (connection === undefined) {
        // Short: a unix socket path holds 108 bytes, and %C is 40 of them.
        const dir = mkdtempSync(join(process.env.XDG_RUNTIME_DIR || tmpdir(), "zferry-ssh-"));
        const master = open(["-o", "ControlMaster=yes", "-o", controlPath(dir), "-o", "ControlPersist=no"]);
        connections[index] = { dir, master: master.catch(() => {}) };
        return await master;
      }
      // Over the socket once it is there; sooner, ssh would find none and log in on its own.
      await connection.master;
      return await open(["-o", "ControlMaster=no", "-o", controlPath(connection.dir)]);
    },
    [Symbol.dispose]() {
      for (const { dir } of connections) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function controlPath(dir: string): string {
  return `ControlPath=${join(dir, "%C")}`;
}
