import { ENDPOINTS, protectBasesArgs, type ProtectBasesArgs, type ProtectedBase } from "../../api/index.ts";
import { defineEndpoint } from "../../rpc/index.ts";
import {
  ZfsError,
  holdTag,
  moveCursor,
  placeHolds,
  releaseHolds,
  versionOf,
  type DatasetName,
  type HeldVersion,
  type VersionShortName,
} from "../../zfs/index.ts";
import { receiveTarget, requireReadable, type ServerContext } from "../context.ts";
import { DATASET_WORKERS, eachAtOnce, failureOf, listEachHeld, requireEachOnce } from "./_each-dataset.ts";

/**
 * `protect_bases`: `protect` for many datasets in one call, each with its own result, in the
 * same few zfs commands however many there are (each per 500 names): one `zfs hold` of every
 * base, one listing of every dataset's versions with their hold counts, one `zfs release` of the
 * tag from every other snapshot that carries any hold (zfs-fuse cannot list tags). Where zfs has
 * bookmarks, each dataset's cursor then moves as for `protect`, DATASET_WORKERS at a time
 * (`zfs bookmark` and `zfs destroy` of a bookmark take one name each).
 *
 * Every base is checked as `protect` checks it. One that fails (outside the ACL, its snapshot
 * gone, a failing zfs) fails alone, with the status and message `protect` would have answered:
 * where a command for many fails, it is redone one snapshot (hold) or one dataset (listing,
 * release) at a time, so that each failure is told apart.
 */
export function protectBasesEndpoint(ctx: ServerContext) {
  return defineEndpoint({
    name: ENDPOINTS.protectBases,
    args: protectBasesArgs,
    body: "none",
    response: "value",
    async handle(args, h): Promise<{ results: ProtectedBase[] }> {
      requireEachOnce(
        args.bases.map((b) => b.dataset),
        "a dataset has one incremental base",
      );
      h.note.dataset = `${args.bases.length} dataset${args.bases.length === 1 ? "" : "s"}`;
      return { results: await protectBases(ctx, args) };
    },
  });
}

// --- internal ---

interface Base {
  readonly asked: DatasetName;
  readonly dataset: DatasetName;
  readonly snapshot: VersionShortName;
}

/** Each base's result, in the order asked. */
async function protectBases(ctx: ServerContext, args: ProtectBasesArgs): Promise<ProtectedBase[]> {
  const failed = new Map<string, unknown>();
  const fail = (asked: string, error: unknown) => failed.set(asked, error);
  const bases: Base[] = [];
  for (const { dataset: asked, snapshot } of args.bases) {
    try {
      const dataset = args.received ? receiveTarget(ctx, asked) : asked;
      if (!args.received) requireReadable(ctx, dataset);
      bases.push({ asked, dataset, snapshot });
    } catch (error) {
      fail(asked, error);
    }
  }
  const tag = holdTag(ctx.identity);
  const refused = await placeHolds(
    ctx.runner,
    bases.map((b) => versionOf(b.dataset, "snapshot", b.snapshot)),
    { tag },
  );
  for (const b of bases) {
    const error = refused.get(`${b.dataset}@${b.snapshot}`);
    if (error) fail(b.asked, error);
  }
  const held = bases.filter((b) => !failed.has(b.asked));
  const askedOf = new Map(held.map((b) => [b.dataset as string, b.asked]));
  const listed = await listEachHeld(
    ctx,
    held.map((b) => b.dataset),
    (ds, error) => fail(askedOf.get(ds)!, error),
  );
  await releaseOthers(ctx, held.filter((b) => listed.has(b.dataset)), listed, tag, fail);
  const cursors = new Map<string, string>();
  if (ctx.caps.bookmarks) {
    const todo = held.filter((b) => !failed.has(b.asked));
    await eachAtOnce(todo, DATASET_WORKERS, async (b) => {
      const existing = listed.get(b.dataset)!.filter((v) => v.name.kind === "bookmark").map((v) => v.name.name as string);
      try {
        cursors.set(b.asked, (await moveCursor(ctx.runner, b.dataset, { identity: ctx.identity, snapshot: b.snapshot, existing })).cursor);
      } catch (error) {
        fail(b.asked, error);
      }
    });
  }
  return args.bases.map(({ dataset, snapshot }) => {
    const error = failed.get(dataset);
    if (error === undefined) return { dataset, held: snapshot, ...(cursors.has(dataset) ? { cursor: cursors.get(dataset)! } : {}) };
    return { dataset, error: failureOf(ctx, ENDPOINTS.protectBases, dataset, error) };
  });
}

/** Releases `tag` from each dataset's snapshots other than its base that carry any hold. */
async function releaseOthers(ctx: ServerContext, bases: readonly Base[], listed: ReadonlyMap<DatasetName, HeldVersion[]>, tag: string, fail: (asked: string, error: unknown) => void): Promise<void> {
  const others = (b: Base) => listed.get(b.dataset)!.filter((v) => v.name.kind === "snapshot" && v.name.name !== b.snapshot && v.userrefs > 0).map((v) => v.name);
  try {
    return await releaseHolds(ctx.runner, bases.flatMap(others), { tag });
  } catch (error) {
    if (!(error instanceof ZfsError)) throw error;
  }
  for (const b of bases) {
    try {
      await releaseHolds(ctx.runner, others(b), { tag });
    } catch (error) {
      fail(b.asked, error);
    }
  }
}
