/**
 * Reaching a stdinserver: over `ssh` (argv built here, never through a shell), or for
 * `connect = { type = "local" }` one served inside this process (`useLocalServer`; the commands
 * layer provides it, as the client never imports the server).
 */
import type { Config, ConnectConfig, SshConnectConfig } from "../config/index.ts";
import { ProtocolError } from "../wire/index.ts";
import { RpcConnection } from "../rpc/index.ts";
import { spawnChildDuplex, type ServerDuplex } from "../transport/index.ts";
import { SOFTWARE } from "../version.ts";

/** `ssh -T -o BatchMode=yes -p PORT [-i KEY] [-o OPT]… USER@HOST` */
export function sshArgv(c: SshConnectConfig, extra: readonly string[] = []): string[] {
  const argv = ["ssh", "-T", "-o", "BatchMode=yes", "-p", String(c.port)];
  if (c.identityFile) argv.push("-i", expandHome(c.identityFile));
  for (const opt of c.options) argv.push("-o", opt);
  argv.push(...extra);
  argv.push(`${c.user}@${c.host}`);
  return argv;
}

/**
 * Serves `identity` of `config` inside this process; the result is the client's end.
 * @throws Error when the identity cannot be served (the message says why)
 */
export type LocalServer = (config: Config, identity: string) => ServerDuplex;

let localServer: LocalServer | null = null;

/**
 * How local connect serves its stdinserver: inside this process. A spawned `zferry stdinserver`
 * would only add its start, its own zfs probe and JIT warm-up: it would run as the same user with
 * the same config, so it would guard nothing more.
 */
export function useLocalServer(serve: LocalServer | null): void {
  localServer = serve;
}

export interface Connected {
  readonly conn: RpcConnection;
  readonly child: ServerDuplex;
  readonly label: string;
}

/**
 * Starts the transport and completes the handshake.
 * @throws Error with a one-line explanation that says what to fix (ssh's own message included)
 */
export async function connect(config: Config, target: ConnectConfig, options: { idleTimeoutMs?: number; sshOptions?: readonly string[] } = {}): Promise<Connected> {
  const label = target.type === "ssh" ? `ssh ${target.user}@${target.host}:${target.port}` : `local stdinserver ${target.identity}`;
  let child: ServerDuplex;
  if (target.type === "ssh") child = spawnChildDuplex(sshArgv(target, options.sshOptions), { label });
  else {
    try {
      if (!localServer) throw new Error("this program serves no local stdinserver (useLocalServer)");
      child = localServer(config, target.identity);
    } catch (err) {
      throw new Error(`Cannot connect to ${label}: ${(err as Error).message}`, { cause: err });
    }
  }
  try {
    const conn = await RpcConnection.open(child, {
      software: SOFTWARE,
      idleTimeoutMs: options.idleTimeoutMs ?? config.server.idleTimeoutMs,
      ...(target.type === "ssh" ? { handshakeTimeoutMs: target.handshakeTimeoutMs } : {}),
    });
    return { conn, child, label };
  } catch (err) {
    const exitCode = await Promise.race([child.exited, Bun.sleep(1_000).then(() => null)]);
    await child.close().catch(() => {});
    throw new Error(`Cannot connect to ${label}: ${explain(err as Error, child, target.type === "ssh" ? exitCode : null)}`, { cause: err });
  }
}

/** ssh exits 255 for its own failures (refused, unknown host, authentication), else with the remote command's status. */
const SSH_FAILED = 255;

function explain(err: Error, child: ServerDuplex, sshExit: number | null): string {
  const stderr = child.diagnostics?.().split("\n").filter((l) => l.trim()).slice(-3).join(" / ") ?? "";
  if (sshExit === SSH_FAILED) return `ssh failed: ${stderr || "no message"}`;
  if (err instanceof ProtocolError && err.message.includes("does not speak zferry")) {
    return `${err.message}. Check that the authorized_keys line runs \`zferry stdinserver IDENTITY\` and that nothing (motd, shell rc files) prints to stdout`;
  }
  if (err.message.includes("before the handshake")) {
    return stderr ? `the server ended the session: ${stderr}` : "the server closed the connection before the handshake (is zferry installed there and the forced command right?)";
  }
  if (stderr) return `${err.message} (${stderr})`;
  return err.message;
}

function expandHome(path: string): string {
  return path.startsWith("~/") ? `${process.env.HOME ?? ""}/${path.slice(2)}` : path;
}

