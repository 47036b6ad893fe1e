/**
 * What the endpoints for many datasets at once share: a refusal of a dataset named twice, a
 * listing of all of them that falls back to one dataset at a time, how one dataset's failure is
 * told, and how many datasets a step takes at once.
 */
import { RpcError, type ErrorStatus } from "../../rpc/index.ts";
export { eachAtOnce } from "../../sys/each-at-once.ts";
import { ZfsError, listHeldVersions, listHeldVersionsOf, quote, type DatasetName, type HeldVersion } from "../../zfs/index.ts";
import { zfsToRpcError, type ServerContext } from "../context.ts";

/**
 * @throws RpcError bad_request when a dataset is named twice (`why` says why it may not be)
 */
export function requireEachOnce(datasets: readonly string[], why: string): void {
  const seen = new Set<string>();
  for (const ds of datasets) {
    if (seen.has(ds)) throw new RpcError("bad_request", `${quote(ds)} is named twice: ${why}`);
    seen.add(ds);
  }
}

/**
 * One dataset's failure as its result tells it: the status and message a call for that dataset
 * alone would have answered. Anything but an RpcError or a zfs failure is logged here, and the
 * client reads only that there was an internal error.
 */
export function failureOf(ctx: ServerContext, endpoint: string, dataset: string, error: unknown): { status: ErrorStatus; message: string } {
  const mapped = zfsToRpcError(error);
  if (mapped instanceof RpcError) return { status: mapped.status, message: mapped.message };
  ctx.log.error(`${endpoint}: ${dataset}: unexpected error:`, error);
  return { status: "server_error", message: `Internal error in ${endpoint} for ${quote(dataset)}; see the server log` };
}

/**
 * Every dataset of `datasets` listed with its hold counts, in one zfs command per 500. Where that
 * fails (one dataset gone meanwhile fails the whole command) each is listed alone; one that still
 * fails goes to `fail` and is left out.
 */
export async function listEachHeld(ctx: ServerContext, datasets: readonly DatasetName[], fail: (dataset: DatasetName, error: unknown) => void): Promise<Map<DatasetName, HeldVersion[]>> {
  try {
    return await listHeldVersionsOf(ctx.runner, datasets);
  } catch (error) {
    if (!(error instanceof ZfsError)) throw error;
  }
  const listed = new Map<DatasetName, HeldVersion[]>();
  for (const ds of datasets) {
    try {
      listed.set(ds, await listHeldVersions(ctx.runner, ds));
    } catch (error) {
      fail(ds, error);
    }
  }
  return listed;
}

/** Datasets worked on at once where zfs takes one a command (`zfs bookmark`, `zfs destroy`). */
export const DATASET_WORKERS = 4;
