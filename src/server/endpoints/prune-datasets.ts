import { ENDPOINTS, pruneDatasetsArgs, type PrunedDataset } from "../../api/index.ts";
import { defineEndpoint } from "../../rpc/index.ts";
import { destroySnapshots, type DatasetName, type VersionShortName } from "../../zfs/index.ts";
import type { ServerContext } from "../context.ts";
import { DATASET_WORKERS, eachAtOnce, failureOf, listEachHeld, requireEachOnce } from "./_each-dataset.ts";
import { prunePrefix, pruneTarget, sortPrune, type KeptSnapshot } from "./_prune-rules.ts";

/**
 * `prune_datasets`: `prune` for many datasets in one call, each with its own result. Every
 * dataset is checked as `prune` checks it (_prune-rules.ts) and the hold counts of all of them
 * come from one listing (one zfs command per 500 datasets; where it fails, one a dataset); then
 * each dataset's snapshots go in one `zfs destroy fs@a,b,c`, DATASET_WORKERS datasets at a time
 * (a destroy names one dataset). A dataset that fails fails alone, with the status and message
 * `prune` would have answered for it. Without the prune grant, or with a dataset named twice, the
 * whole call is refused and nothing runs.
 */
export function pruneDatasetsEndpoint(ctx: ServerContext) {
  return defineEndpoint({
    name: ENDPOINTS.pruneDatasets,
    args: pruneDatasetsArgs,
    body: "none",
    response: "value",
    async handle(args, h): Promise<{ results: PrunedDataset[] }> {
      const prefix = prunePrefix(ctx);
      requireEachOnce(
        args.datasets.map((d) => d.dataset),
        "one dataset, one list of snapshots",
      );
      h.note.dataset = `${args.datasets.length} dataset${args.datasets.length === 1 ? "" : "s"}`;
      const failed = new Map<string, unknown>();
      const todo: { asked: DatasetName; dataset: DatasetName; snapshots: readonly VersionShortName[] }[] = [];
      for (const item of args.datasets) {
        try {
          todo.push({ asked: item.dataset, dataset: pruneTarget(ctx, { ...item, received: args.received }, prefix), snapshots: item.snapshots });
        } catch (error) {
          failed.set(item.dataset, error);
        }
      }
      const askedOf = new Map(todo.map((d) => [d.dataset as string, d.asked]));
      const asking = todo.filter((d) => d.snapshots.length > 0);
      const listed = await listEachHeld(
        ctx,
        asking.map((d) => d.dataset),
        (ds, error) => failed.set(askedOf.get(ds)!, error),
      );
      const done = new Map<string, { destroyed: string[]; kept: KeptSnapshot[] }>();
      await eachAtOnce(asking, DATASET_WORKERS, async (d) => {
        const versions = listed.get(d.dataset);
        if (versions === undefined) return;
        const { doomed, kept } = sortPrune(versions, d.snapshots);
        try {
          await destroySnapshots(ctx.runner, d.dataset, { names: doomed });
          done.set(d.asked, { destroyed: doomed, kept });
        } catch (error) {
          failed.set(d.asked, error);
        }
      });
      return {
        results: args.datasets.map(({ dataset }) => {
          const error = failed.get(dataset);
          if (error !== undefined) return { dataset, error: failureOf(ctx, ENDPOINTS.pruneDatasets, dataset, error) };
          return { dataset, ...(done.get(dataset) ?? { destroyed: [], kept: [] }) };
        }),
      };
    },
  });
}
