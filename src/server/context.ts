/**
 * What every endpoint of one stdinserver session shares, and the checks they all make.
 */
import type { ConsolaInstance } from "consola";
import { RpcError } from "../rpc/index.ts";
import { ZfsError, ZfsNotFoundError, ZfsUnsupportedError, quote, type DatasetName, type ZfsCapabilities, type ZfsRunner } from "../zfs/index.ts";
import type { Acl } from "./acl.ts";
import type { ChildRegistry } from "./child-registry.ts";

export interface ServerContext {
  readonly identity: string;
  readonly acl: Acl;
  readonly runner: ZfsRunner;
  readonly caps: ZfsCapabilities;
  readonly software: string;
  readonly children: ChildRegistry;
  readonly log: ConsolaInstance;
  /** Where receive locks live (receive-lock.ts). */
  readonly lockDir: string;
  /**
   * What the sessions of one job share, for what holds for a whole job (jobCache): the sessions
   * of local connect's workers, one job's, in its process. A spawned stdinserver serves one session.
   */
  readonly job: object;
}

/**
 * Refuses a dataset outside the identity's filesystems. The message is the same whether or not the
 * dataset exists, so a client cannot probe for names it may not see.
 * @throws RpcError permission_denied
 */
export function requireReadable(ctx: ServerContext, ds: DatasetName): void {
  if (!ctx.acl.mayRead(ds)) throw new RpcError("permission_denied", `Dataset ${quote(ds)} is not allowed for client ${quote(ctx.identity)}`);
}

/** Maps zfs failures onto wire statuses: a missing dataset is not_found, a missing feature unsupported. */
export function zfsToRpcError(err: unknown): unknown {
  if (err instanceof RpcError) return err;
  if (err instanceof ZfsUnsupportedError) return new RpcError("unsupported", err.message, { cause: err });
  if (err instanceof ZfsError) return new RpcError(err.isDatasetMissing ? "not_found" : "server_error", err.message, { cause: err });
  if (err instanceof ZfsNotFoundError) return new RpcError("server_error", err.message, { cause: err });
  return err;
}

/** Runs `fn`, translating zfs errors for the wire. */
export async function withZfsErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw zfsToRpcError(err);
  }
}

/**
 * Where a pushed dataset lands: receive_root/<client's dataset name>.
 * @throws RpcError permission_denied when this identity has no receive_root
 */
export function receiveTarget(ctx: ServerContext, clientDataset: DatasetName): DatasetName {
  if (!ctx.acl.receiveRoot) throw new RpcError("permission_denied", `Client ${quote(ctx.identity)} may not push: no receive_root is configured for it`);
  let target: DatasetName | null;
  try {
    target = ctx.acl.receiveTargetFor(clientDataset);
  } catch (err) {
    throw new RpcError("bad_request", (err as Error).message);
  }
  if (!target) throw new RpcError("permission_denied", `Cannot receive ${quote(clientDataset)}: outside receive_root ${quote(ctx.acl.receiveRoot)}`);
  return target;
}
