/**
 * Protecting the incremental base: after a filesystem replicated, the newest snapshot both sides
 * share gets the identity's hold (`zferry_<identity>`) on the sender (through the server's
 * `protect`) and on the receiver (here), and the previous base is released. No other tool's
 * pruning, and no `zfs destroy` by hand, can then break the chain without `zfs release` first.
 */
import { ENDPOINTS, MAX_PROTECT_BASES, protectBasesResponse, protectResponse, type ProtectedBase, type VersionEntry } from "../api/index.ts";
import { answerFor, callForEach, type AnsweredForEach } from "./calls-for-many.ts";
import type { JobSession } from "./session.ts";
import { ZfsError, holdCounts, holdTag, parseVersionShortName, placeHolds, releaseHolds, versionOf, type DatasetName, type VersionShortName, type ZfsRunner, type ZfsVersion } from "../zfs/index.ts";

/** The newest snapshot present on both sides (same guid), by the sender's name; null if none. */
export function newestCommon(sender: readonly VersionEntry[], receiver: readonly ZfsVersion[]): VersionEntry | null {
  const received = new Set(receiver.filter((v) => v.name.kind === "snapshot").map((v) => v.guid));
  let best: VersionEntry | null = null;
  for (const v of sender) if (v.kind === "snapshot" && received.has(v.guid) && (best === null || v.createtxg > best.createtxg)) best = v;
  return best;
}

/** How many holds each snapshot of one dataset carries, by its short name. */
export type HoldCounts = ReadonlyMap<string, number>;

/** A dataset on this side whose base to hold: the base and every snapshot the dataset has. */
export interface BaseHere {
  readonly dataset: DatasetName;
  readonly base: VersionShortName;
  readonly snapshots: readonly VersionShortName[];
}

/** This side's base of each filesystem whose two sides share a snapshot. */
export function basesHere(sides: readonly { here: DatasetName; versionsHere: readonly ZfsVersion[]; base: string | null }[]): BaseHere[] {
  const bases: BaseHere[] = [];
  for (const side of sides) {
    if (side.base === null) continue;
    const snapshots = side.versionsHere.filter((v) => v.name.kind === "snapshot").map((v) => v.name.name as VersionShortName);
    bases.push({ dataset: side.here, base: parseVersionShortName(side.base), snapshots });
  }
  return bases;
}

/** What `releaseOthersHere` did: each dataset's hold counts once done, or why it failed there. */
export interface HeldHere {
  readonly holds: ReadonlyMap<string, HoldCounts>;
  readonly failed: ReadonlyMap<string, string>;
}

/** Nothing held here (a dry run). */
export const NOTHING_HELD: HeldHere = { holds: new Map(), failed: new Map() };

/** The bases `placeBasesHere` held, and the datasets where zfs refused, with why. */
export interface PlacedHere {
  readonly held: readonly BaseHere[];
  readonly failed: ReadonlyMap<string, string>;
}

/**
 * Places `identity`'s hold on each dataset's base on this side, all at once (one `zfs hold` per
 * 500 bases; one a snapshot where that fails). `releaseOthersHere` then moves it off the older
 * snapshots; what only needs the bases held (the server's protect) can run beside that.
 */
export async function placeBasesHere(runner: ZfsRunner, bases: readonly BaseHere[], identity: string): Promise<PlacedHere> {
  const baseNames = bases.map((b) => versionOf(b.dataset, "snapshot", b.base));
  const refused = await placeHolds(runner, baseNames, { tag: holdTag(identity) });
  const failed = new Map(baseNames.filter((n) => refused.has(n.full)).map((n) => [n.dataset as string, refused.get(n.full)!.message]));
  return { held: bases.filter((b) => !failed.has(b.dataset)), failed };
}

/**
 * Releases `identity`'s hold from every other snapshot of the datasets whose bases were placed,
 * all at once: one `zfs get userrefs` of their snapshots, one `zfs release` of the tag where any
 * hold is (zfs-fuse cannot list tags), and one `zfs get` again of those (each per 500
 * snapshots). Where a command for many fails (a snapshot destroyed meanwhile fails a whole
 * `zfs get`), it is redone a dataset at a time. A dataset whose base could not be held, or whose
 * holds could not be read or released, is named in `failed`.
 */
export async function releaseOthersHere(runner: ZfsRunner, placed: PlacedHere, identity: string): Promise<HeldHere> {
  const tag = holdTag(identity);
  const failed = new Map(placed.failed);
  try {
    return { holds: await releaseOthers(runner, placed.held, tag), failed };
  } catch (error) {
    if (!(error instanceof ZfsError)) throw error;
  }
  const holds = new Map<string, HoldCounts>();
  for (const one of placed.held) {
    try {
      for (const [dataset, counts] of await releaseOthers(runner, [one], tag)) holds.set(dataset, counts);
    } catch (error) {
      if (!(error instanceof ZfsError)) throw error;
      failed.set(one.dataset, error.message);
    }
  }
  return { holds, failed };
}

/**
 * Which of `names` (snapshots of `dataset`) carry any hold: from the counts `releaseOthersHere` left,
 * or, where it did not run, from one `zfs get userrefs`.
 */
export async function heldSnapshots(runner: ZfsRunner, dataset: DatasetName, names: readonly VersionShortName[], counted: HoldCounts | null): Promise<Set<string>> {
  if (counted !== null) return new Set(names.filter((s) => (counted.get(s) ?? 0) > 0));
  const versions = names.map((s) => versionOf(dataset, "snapshot", s));
  const counts = await holdCounts(runner, versions);
  return new Set(versions.filter((v) => (counts.get(v.full) ?? 0) > 0).map((v) => v.name as string));
}

/** A base to protect on the server: the dataset as the server's calls name it, and its base snapshot. */
export interface BaseThere {
  readonly dataset: DatasetName;
  readonly snapshot: string;
}

/**
 * The bases to protect on the server: of each filesystem whose two sides share a snapshot and
 * whose base here did not fail to be held (such a one is protected on neither side).
 */
export function basesThere(sides: readonly { there: DatasetName; here: DatasetName; base: string | null }[], held: Pick<HeldHere, "failed">): BaseThere[] {
  return sides.filter((side) => side.base !== null && !held.failed.has(side.here)).map((side) => ({ dataset: side.there, snapshot: side.base! }));
}

/** What the server answered for each base protected there at once (`callForEach`); null where it protects one a call, or in a dry run. */
export type ProtectedThere = AnsweredForEach<ProtectedBase>;

/** Protects every base on the server in one `protect_bases` call (one per MAX_PROTECT_BASES), where the server has it. */
export async function protectBasesThere(session: JobSession, bases: readonly BaseThere[], options: { received: boolean }): Promise<ProtectedThere> {
  if (session.info.protect_bases !== true) return null;
  return callForEach(session, ENDPOINTS.protectBases, bases, {
    max: MAX_PROTECT_BASES,
    args: (chunk) => ({ bases: chunk.map((b) => ({ dataset: b.dataset, snapshot: b.snapshot })), ...(options.received ? { received: true } : {}) }),
    response: protectBasesResponse,
  });
}

/**
 * The server's protect of one base: what `protectBasesThere` answered for it, or, where it did
 * not ask (an older server), a `protect` call now.
 * @throws the server's refusal of that base
 */
export async function protectThere(session: JobSession, base: BaseThere, options: { received: boolean; protectedThere: ProtectedThere }): Promise<void> {
  const args = { dataset: base.dataset, snapshot: base.snapshot, ...(options.received ? { received: true } : {}) };
  await answerFor(
    options.protectedThere,
    base.dataset,
    async () => void (await session.remote.rpc.callValue(ENDPOINTS.protect, args, protectResponse)),
    () => undefined,
  );
}

// --- internal ---

/**
 * Releases `tag` from every snapshot of `held` but its base that carries any hold; returns the
 * hold counts of each dataset's snapshots once done.
 * @throws ZfsError when zfs fails
 */
async function releaseOthers(runner: ZfsRunner, held: readonly BaseHere[], tag: string): Promise<Map<string, HoldCounts>> {
  const snapshots = held.flatMap((b) => b.snapshots.map((s) => versionOf(b.dataset, "snapshot", s)));
  const counts = await holdCounts(runner, snapshots);
  const heldBases = new Set(held.map((b) => `${b.dataset}@${b.base}`));
  // Where any hold is, ours may be: zfs-fuse cannot tell whose.
  const mayBeOurs = snapshots.filter((s) => !heldBases.has(s.full) && (counts.get(s.full) ?? 0) > 0);
  if (mayBeOurs.length > 0) {
    await releaseHolds(runner, mayBeOurs, { tag });
    for (const [full, n] of await holdCounts(runner, mayBeOurs)) counts.set(full, n);
  }
  return new Map(held.map((b) => [b.dataset as string, new Map(b.snapshots.map((s) => [s as string, counts.get(`${b.dataset}@${s}`) ?? 0]))]));
}
