/**
 * Pruning the server's side: what each filesystem's rules chose there, destroyed after the server
 * checked it again (`prune`), for all filesystems in one `prune_datasets` where the server has it.
 */
import { ENDPOINTS, MAX_PRUNE_DATASETS, pruneDatasetsResponse, pruneResponse, type PrunedDataset } from "../api/index.ts";
import type { DatasetName } from "../zfs/index.ts";
import { answerFor, callForEach, type AnsweredForEach } from "./calls-for-many.ts";
import type { HeldHere, ProtectedThere } from "./protect-base.ts";
import type { JobSession } from "./session.ts";

/** The snapshots of one dataset (as the server's calls name it) that its rules chose to destroy there. */
export interface PruneThere {
  readonly dataset: DatasetName;
  readonly snapshots: readonly string[];
}

/** What the server answered for each dataset pruned there at once; null where it prunes one a call. */
export type PrunedThere = AnsweredForEach<PrunedDataset>;

/** What the server destroyed of a dataset, and what it kept and why. */
export interface Pruned {
  readonly destroyed: readonly string[];
  readonly kept: readonly { name: string; reason: string }[];
}

/**
 * What to prune on the server for all filesystems at once: the snapshots each one's rules chose
 * there, of each whose base is protected on both sides (or that has none); a filesystem whose base
 * failed on either side is pruned on neither.
 */
export function prunesThere(
  sides: readonly { there: DatasetName; here: DatasetName; base: string | null; doomedThere(): readonly string[] }[],
  done: { here: HeldHere; protectedThere: NonNullable<ProtectedThere> },
): PruneThere[] {
  const prunes: PruneThere[] = [];
  for (const side of sides) {
    if (done.here.failed.has(side.here)) continue;
    if (side.base !== null && done.protectedThere.get(side.there)?.ok !== true) continue;
    const snapshots = side.doomedThere();
    if (snapshots.length > 0) prunes.push({ dataset: side.there, snapshots });
  }
  return prunes;
}

/** Prunes every dataset on the server in one `prune_datasets` call (one per MAX_PRUNE_DATASETS), where the server has it. */
export async function pruneDatasetsThere(session: JobSession, items: readonly PruneThere[], options: { received: boolean }): Promise<PrunedThere> {
  if (session.info.prune_datasets !== true) return null;
  return callForEach(session, ENDPOINTS.pruneDatasets, items, {
    max: MAX_PRUNE_DATASETS,
    args: (chunk) => ({ datasets: chunk.map((d) => ({ dataset: d.dataset, snapshots: d.snapshots })), ...(options.received ? { received: true } : {}) }),
    response: pruneDatasetsResponse,
  });
}

/**
 * The server's prune of one dataset: what `pruneDatasetsThere` answered for it, or, where it did
 * not ask (an older server), a `prune` call now.
 * @throws the server's refusal of that dataset
 */
export async function pruneThere(session: JobSession, item: PruneThere, options: { received: boolean; prunedThere: PrunedThere | Promise<PrunedThere> }): Promise<Pruned> {
  const args = { dataset: item.dataset, snapshots: item.snapshots, ...(options.received ? { received: true } : {}) };
  // Awaited first: the call for many runs on a session a step may share.
  return answerFor(
    await options.prunedThere,
    item.dataset,
    () => session.remote.rpc.callValue(ENDPOINTS.prune, args, pruneResponse),
    (r) => ({ destroyed: r.destroyed ?? [], kept: r.kept ?? [] }),
  );
}
