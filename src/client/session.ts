/**
 * One job's conversation with its stdinserver: connect, read `info`, and the checks every job
 * makes before touching a dataset (send flags the server grants). Errors here end the whole job
 * with one line that says what to fix.
 */
import type { InfoResponse, WireSendFlag } from "../api/index.ts";
import { enabledSendFlags, type Config, type JobConfig } from "../config/index.ts";
import { RpcClient, RpcError } from "../rpc/index.ts";
import { connect } from "./connect.ts";
import { RemoteSession } from "./remote.ts";

export interface JobSession extends AsyncDisposable {
  readonly remote: RemoteSession;
  readonly info: InfoResponse;
  /** `ssh root@host:22` or `local stdinserver b1`. */
  readonly label: string;
  /** The job's send flags, as the wire names them. */
  readonly flags: readonly WireSendFlag[];
  /** Set once the connection broke (a later call would fail at once), with the reason. */
  broken(): Error | null;
  close(): Promise<void>;
}

/**
 * Connects for `job` and checks that the server grants the job's send flags.
 * @throws Error with one line naming the problem and its fix
 */
export async function openJobSession(config: Config, job: JobConfig, options: { sshOptions?: readonly string[] } = {}): Promise<JobSession> {
  const { conn, label } = await connect(config, job.connect, options);
  const remote = new RemoteSession(new RpcClient(conn));
  let closed: Promise<void> | null = null;
  const close = () => (closed ??= remote.close().catch(() => {}));
  try {
    const info = await remote.info();
    const flags = enabledSendFlags(job.send);
    const denied = flags.find((f) => !info.send_flags.includes(f));
    if (denied) {
      throw new Error(
        `send flag ${JSON.stringify(denied)} is not granted to identity ${JSON.stringify(info.identity)} on the server: ` +
          `add it to send_flags in the server's [clients.${info.identity}], or turn it off in [jobs.${job.name}.send]`,
      );
    }
    return { remote, info, label, flags, broken: () => conn.broken, close, [Symbol.asyncDispose]: close };
  } catch (err) {
    await close();
    if (err instanceof RpcError) throw new Error(`${label}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** A refusal of the server turned into a line that also says where to fix it. */
export function explainRpcError(err: unknown, identity: string): string {
  if (!(err instanceof RpcError)) return (err as Error).message;
  if (err.status === "permission_denied") return `${err.message} (check [clients.${identity}] in the server's config)`;
  return err.message;
}

/**
 * Waits for a job's connection and its local checks, which run side by side (each costs process
 * starts or round trips; start the connection first, it takes longest). A failed local check
 * wins, and the session, if it opened, is closed.
 */
export async function withLocalChecks<T, S extends { close(): Promise<void> }>(opening: Promise<S>, local: Promise<T>): Promise<[T, S]> {
  const [opened, checked] = await Promise.allSettled([opening, local]);
  if (checked.status === "rejected") {
    if (opened.status === "fulfilled") await opened.value.close();
    throw checked.reason;
  }
  if (opened.status === "rejected") throw opened.reason;
  return [checked.value, opened.value];
}

/**
 * A session opened with its first call already answered: the call goes out as soon as the
 * session is up, so that it runs beside the local checks rather than after them. A failed call
 * closes the session.
 */
export async function openedWith<S extends { close(): Promise<void> }, R>(opening: Promise<S>, call: (session: S) => Promise<R>): Promise<{ opened: S; answer: R; close(): Promise<void> }> {
  const opened = await opening;
  const answer = await closingOnFailure(opened, () => call(opened));
  return { opened, answer, close: () => opened.close() };
}

/** Runs `fn`; if it fails, closes `session` before the failure goes on. */
export async function closingOnFailure<S extends { close(): Promise<void> }, R>(session: S, fn: () => Promise<R>): Promise<R> {
  try {
    return await fn();
  } catch (err) {
    await session.close();
    throw err;
  }
}
