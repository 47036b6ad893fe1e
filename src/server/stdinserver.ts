/**
 * One stdinserver session: the RPC server for one client identity on one connection (stdin/stdout
 * under sshd). Everything that can be checked before serving is checked first, so a bad setup is
 * one clear line and a non-zero exit, never a half-working session.
 */
import type { ConsolaInstance } from "consola";
import { lockDirOf, type Config } from "../config/index.ts";
import { RpcConnection, serve, type CallLogEntry } from "../rpc/index.ts";
import { writeStderrLine } from "../log.ts";
import type { Duplex } from "../transport/index.ts";
import { ZfsRunner, type ZfsCapabilities } from "../zfs/index.ts";
import { aclForIdentity, type Acl } from "./acl.ts";
import { ChildRegistry } from "./child-registry.ts";
import type { ServerContext } from "./context.ts";
import { serverEndpoints } from "./endpoints/index.ts";

export interface PreparedServer {
  readonly acl: Acl;
  readonly runner: ZfsRunner;
  /** The zfs probe runs while the handshake is exchanged; it settles before the first call. */
  readonly caps: Promise<ZfsCapabilities>;
  /** ServerContext.job: this session's own, unless the caller shares one between sessions. */
  readonly job: object;
}

/**
 * Checks the identity and starts probing the zfs binary.
 * @throws UnknownIdentityError
 */
export function prepareServer(config: Config, identity: string): PreparedServer {
  const acl = aclForIdentity(config, identity);
  const runner = new ZfsRunner({ bin: config.zfs.bin });
  const caps = runner.capabilities();
  caps.catch(() => {}); // reported by runStdinServer
  return { acl, runner, caps, job: {} };
}

export interface StdinServerOptions {
  config: Config;
  identity: string;
  prepared: PreparedServer;
  duplex: Duplex;
  software: string;
  log: ConsolaInstance;
  /** Receives the session's child registry, so signal handlers can kill its children. */
  children?: ChildRegistry;
}

/**
 * Serves until the client hangs up. Returns the exit code: 0 after an orderly close, 1 when the
 * connection was lost, 2 when zfs is unusable (the client is told why in a RESET).
 */
export async function runStdinServer(options: StdinServerOptions): Promise<number> {
  const { config, identity, prepared, duplex, software, log } = options;
  const children = options.children ?? new ChildRegistry();
  let conn: RpcConnection;
  try {
    conn = await RpcConnection.open(duplex, { software, idleTimeoutMs: config.server.idleTimeoutMs });
  } catch (err) {
    log.warn(`Handshake with client ${JSON.stringify(identity)} failed: ${(err as Error).message}`);
    return 1;
  }
  let caps: ZfsCapabilities;
  try {
    caps = await prepared.caps;
  } catch (err) {
    const reason = `The server cannot use zfs: ${(err as Error).message}`;
    writeStderrLine(`zferry: ${reason}`);
    await conn.writeReset(reason, "connection").catch(() => {});
    await conn.close().catch(() => {});
    return 2;
  }
  const ctx: ServerContext = { identity, acl: prepared.acl, runner: prepared.runner, caps, software, children, log, lockDir: lockDirOf(config), job: prepared.job };
  log.debug(`Client ${JSON.stringify(identity)} connected (${conn.peer.software})`);
  try {
    const outcome = await serve(conn, serverEndpoints(ctx), { log, onCallDone: (entry) => logCall(log, identity, entry) });
    return outcome === "closed" ? 0 : 1;
  } finally {
    await children.killAll();
    await conn.close().catch(() => {});
  }
}

function logCall(log: ConsolaInstance, identity: string, entry: CallLogEntry): void {
  const facts = Object.entries(entry.note)
    .map(([k, v]) => `${k}=${JSON.stringify(typeof v === "bigint" ? v.toString() : v)}`)
    .join(" ");
  const request = entry.request ? `request=${entry.request} ` : "";
  const line = `${request}identity=${JSON.stringify(identity)} endpoint=${entry.endpoint} ${facts}${facts ? " " : ""}duration_ms=${entry.durationMs} status=${entry.status}`;
  if (entry.status === "ok" && !entry.message) log.info(line);
  else log.warn(`${line} message=${JSON.stringify(entry.message ?? "")}`);
}
