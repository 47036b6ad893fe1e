/**
 * What a backup cycle does for all its filesystems at once, between the listings and each
 * filesystem's own step, on both sides alike (pull and push): hold each base here, then release
 * the older holds here while the server protects the bases there, then start the server's prune of
 * its side. A filesystem whose base failed on either side is neither protected nor pruned on the
 * other; its own step says why.
 */
import type { DatasetName, ZfsRunner, ZfsVersion } from "../zfs/index.ts";
import { basesHere, basesThere, NOTHING_HELD, placeBasesHere, protectBasesThere, releaseOthersHere, type HeldHere, type ProtectedThere } from "./protect-base.ts";
import { pruneDatasetsThere, prunesThere, type PrunedThere } from "./prune-there.ts";
import type { JobSession } from "./session.ts";

/** One filesystem on both sides, as the cycle at once needs it. */
export interface CycleSide {
  /** The dataset as the server's calls name it. */
  readonly there: DatasetName;
  /** The dataset here, and its versions. */
  readonly here: DatasetName;
  readonly versionsHere: readonly ZfsVersion[];
  /** The newest snapshot both sides have, by name; null if none. */
  readonly base: string | null;
  /** The snapshots the rules for the server's side destroy there. */
  doomedThere(): readonly string[];
}

export interface DoneAtOnce {
  readonly here: HeldHere;
  /** Null where the server protects one base a call (or in a dry run): each step asks for its own. */
  readonly protectedThere: ProtectedThere;
  /** Running while the steps prune this side; null inside where the server prunes one dataset a call. */
  readonly prunedThere: Promise<PrunedThere>;
}

/**
 * Does for all `filesystems` at once what needs no filesystem's own step. `sideOf` throws for a
 * filesystem a listing did not show; that one is left to its step, which says so.
 */
export async function doAtOnce(
  runner: ZfsRunner,
  session: JobSession,
  args: { filesystems: readonly string[]; received: boolean; pruneThere: boolean; dryRun: boolean; sideOf: (name: string) => CycleSide },
): Promise<DoneAtOnce> {
  if (args.dryRun) return { here: NOTHING_HELD, protectedThere: null, prunedThere: Promise.resolve(null) };
  const { received } = args;
  const identity = session.info.identity;
  // Each filesystem's sides, once; one a listing did not show is left to its own step, which says so.
  const sides = args.filesystems.flatMap((name) => {
    try {
      return [args.sideOf(name)];
    } catch {
      return [];
    }
  });
  const bases = basesHere(sides);
  const placed = await placeBasesHere(runner, bases, identity);
  const [here, protectedThere] = await Promise.all([releaseOthersHere(runner, placed, identity), protectBasesThere(session, basesThere(sides, placed), { received })]);
  const prunes = protectedThere !== null && args.pruneThere ? prunesThere(sides, { here, protectedThere }) : [];
  const prunedThere = prunes.length > 0 ? pruneDatasetsThere(session, prunes, { received }) : Promise.resolve(null);
  return { here, protectedThere, prunedThere };
}
