/**
 * The replication planner: from one filesystem's versions on the source and on the target, decide
 * what to send. Pure (it runs no zfs, no RPC, no clock), so every rule is a row in a table test.
 *
 * Rules, matching versions by GUID only (names may differ, a GUID may not):
 * - The incremental base is the target's newest snapshot; the source must hold a version (snapshot,
 *   or bookmark where zfs has them) with its GUID. Every newer source snapshot follows as its own
 *   `-i` step, received and verified before the next, so an interruption loses at most one step.
 *   (`-I` would save round trips but a failure would cost the whole range.)
 * - Target has snapshots and the newest is not on the source: diverged (it has newer snapshots, or
 *   none in common). zferry never rolls back or destroys target data, so it stops there.
 * - Target has no snapshots: initial replication, `most_recent` (one full stream of the newest
 *   snapshot) or `all` (the oldest in full, then each later one incrementally); only into a missing
 *   dataset or an empty zferry placeholder, never over a dataset of someone else.
 * - A partial receive on the target (an OpenZFS resume token) is continued first, then the plan
 *   goes on from the snapshot it completes.
 */
import type { InitialPolicy } from "../config/index.ts";
import { PackedVersions, type VersionList } from "../zfs/index.ts";

/** A snapshot or bookmark as the planner sees it; `name` is the short name. */
export interface PlanVersion {
  readonly name: string;
  readonly kind: "snapshot" | "bookmark";
  readonly guid: bigint;
  readonly createtxg: bigint;
}

/** A partially received stream on the target, from its decoded receive_resume_token. */
export interface PlanResume {
  readonly token: string;
  readonly toguid: bigint;
  readonly fromguid?: bigint;
}

export interface PlanTarget {
  /** The target dataset's full name, for messages that give a command to run. */
  readonly name?: string;
  readonly exists: boolean;
  /** A dataset zferry created to keep the tree's shape (zferry:placeholder=on, set locally). */
  readonly placeholder: boolean;
  readonly versions: readonly PlanVersion[];
  readonly resume?: PlanResume | null;
}

export interface PlanOptions {
  readonly initial: InitialPolicy;
  /**
   * Send the snapshots after the base as one `-I` stream instead of a `-i` step each: one send
   * and one receive per filesystem. An interruption then costs the snapshot in flight (resumable
   * where zfs resumes), not the range: what arrived before it stays.
   */
  readonly intermediates?: boolean;
  /** Both sides can continue a partial receive (OpenZFS `send -t` / `recv -s`). */
  readonly canResume: boolean;
}

export type Step =
  | { readonly kind: "full"; readonly to: PlanVersion }
  | {
      readonly kind: "incremental";
      readonly from: PlanVersion;
      readonly to: PlanVersion;
      /** Snapshots between `from` and `to` that the same `-I` stream carries, oldest first. */
      readonly intermediates?: readonly PlanVersion[];
    }
  | { readonly kind: "resume"; readonly token: string; readonly to: PlanVersion; readonly from?: PlanVersion };

export type Plan =
  | {
      readonly kind: "replicate";
      readonly steps: readonly Step[];
      /** The target gets its first snapshot (the first step is full, or a resumed full). */
      readonly initial: boolean;
      /** The first step lands in an existing empty placeholder (a full receive needs `-F` there). */
      readonly intoPlaceholder: boolean;
    }
  | { readonly kind: "up_to_date"; readonly at: PlanVersion }
  /** Nothing to do that is not an error, e.g. the source has no snapshots yet. */
  | { readonly kind: "skip"; readonly reason: string }
  /** The target has snapshots the source does not lead to. */
  | { readonly kind: "diverged"; readonly reason: string }
  /** The target is in a state zferry will not touch (someone else's dataset, a stale partial receive). */
  | { readonly kind: "conflict"; readonly reason: string };

/** Why a source without snapshots is skipped. */
export const NO_SNAPSHOTS = "the source has no snapshots yet";

/** Plans one filesystem. `source` and `target.versions` may come in any order. */
export function planReplication(source: readonly PlanVersion[], target: PlanTarget, options: PlanOptions): Plan {
  const src = sortVersions(source);
  const snaps = src.filter((v) => v.kind === "snapshot");
  const targetSnaps = sortVersions(target.versions).filter((v) => v.kind === "snapshot");

  if (target.resume) return planResume(src, snaps, targetSnaps, { resume: target.resume, name: target.name, options });
  if (snaps.length === 0) return { kind: "skip", reason: NO_SNAPSHOTS };

  if (targetSnaps.length === 0) {
    if (target.exists && !target.placeholder) {
      return { kind: "conflict", reason: "the target exists without snapshots and is not a zferry placeholder; zferry does not overwrite it" };
    }
    const first = options.initial === "all" ? snaps[0]! : snaps.at(-1)!;
    const steps: Step[] = [{ kind: "full", to: first }, ...chain(first, snaps, options)];
    return { kind: "replicate", steps, initial: true, intoPlaceholder: target.exists };
  }

  const newest = targetSnaps.at(-1)!;
  const base = findByGuid(src, newest.guid);
  if (!base) return diverged(src, targetSnaps);
  const steps = chain(base, snaps, options);
  if (steps.length === 0) return { kind: "up_to_date", at: base.kind === "snapshot" ? base : newest };
  return { kind: "replicate", steps, initial: false, intoPlaceholder: false };
}

/**
 * The plan of a filesystem whose target's newest snapshot is the source's newest (GUIDs being
 * unique within a dataset), from those two alone: up to date, as planReplication would say. Null
 * for every other case, which planReplication decides. A no-op run of ten thousand filesystems
 * then reads two versions of each, not every version of both sides.
 */
export function upToDateAtNewest(sourceNewest: PlanVersion | undefined, targetNewest: PlanVersion | undefined, target: { readonly resume?: PlanResume | null }): Plan | null {
  if (target.resume || !sourceNewest || !targetNewest || sourceNewest.guid !== targetNewest.guid) return null;
  return { kind: "up_to_date", at: sourceNewest };
}

/** The last snapshot of `versions` (oldest first), read from the end; bookmarks are passed over. */
export function newestSnapshot<T>(versions: { readonly length: number; at(index: number): T | undefined }, planned: (version: T) => PlanVersion): PlanVersion | undefined {
  for (let i = versions.length - 1; i >= 0; i--) {
    const v = planned(versions.at(i)!);
    if (v.kind === "snapshot") return v;
  }
  return undefined;
}

/**
 * A list's versions as the planner reads them: packed ones as plain rows (no view objects on the
 * way), others through `planned`.
 */
export function planInput<T>(versions: VersionList<T>, planned: (version: T) => PlanVersion): PlanVersion[] {
  return versions instanceof PackedVersions ? versions.rows() : versions.map(planned);
}

/** A version as list_tree gave it (`TreeVersionEntry`), for the planner. */
export function planVersionOfEntry(v: { name: string; type: "snapshot" | "bookmark"; guid: bigint; createtxg: bigint }): PlanVersion {
  return { name: v.name, kind: v.type, guid: v.guid, createtxg: v.createtxg };
}

/** A version as the zfs layer lists it (`ZfsVersion`), for the planner. */
export function planVersionOf(v: { name: { name: string; kind: "snapshot" | "bookmark" }; guid: bigint; createtxg: bigint }): PlanVersion {
  return { name: v.name.name, kind: v.name.kind, guid: v.guid, createtxg: v.createtxg };
}

/** How many snapshots a step brings (a `-I` step its intermediates too). */
export function stepSnapshots(step: Step): number {
  return step.kind === "incremental" ? 1 + (step.intermediates?.length ?? 0) : 1;
}

/** The snapshot a plan ends at, or null when it sends nothing. */
export function planTarget(plan: Plan): PlanVersion | null {
  return plan.kind === "replicate" ? plan.steps.at(-1)!.to : null;
}

// --- internal ---

function planResume(
  src: PlanVersion[],
  snaps: PlanVersion[],
  targetSnaps: PlanVersion[],
  { resume, name, options }: { resume: PlanResume; name: string | undefined; options: PlanOptions },
): Plan {
  const discard = `discard it with "zfs receive -A ${name ?? "TARGET"}" to start that step over`;
  if (!options.canResume) return { kind: "conflict", reason: `the target holds a partial receive, but the sender cannot resume it; ${discard}` };
  const to = snaps.find((v) => v.guid === resume.toguid);
  if (!to) return { kind: "conflict", reason: `the target holds a partial receive of a snapshot the source no longer has (GUID ${resume.toguid}); ${discard}` };
  let from: PlanVersion | undefined;
  if (resume.fromguid !== undefined && resume.fromguid !== 0n) {
    from = findByGuid(src, resume.fromguid);
    if (!from) return { kind: "conflict", reason: `the partial receive's incremental source (GUID ${resume.fromguid}) is gone from the source; ${discard}` };
  }
  const steps: Step[] = [{ kind: "resume", token: resume.token, to, ...(from ? { from } : {}) }, ...chain(to, snaps, options)];
  return { kind: "replicate", steps, initial: targetSnaps.length === 0, intoPlaceholder: false };
}

/**
 * The steps from `base` to the newest snapshot: one `-i` step per snapshot, or with
 * `intermediates` one `-I` step (after a first `-i` step from a bookmark: `-I` needs a snapshot).
 */
function chain(base: PlanVersion, snaps: readonly PlanVersion[], options: PlanOptions): Step[] {
  const newer = snaps.filter((s) => s.createtxg > base.createtxg);
  if (options.intermediates && newer.length > 1) {
    const head: Step[] = base.kind === "bookmark" ? [{ kind: "incremental", from: base, to: newer[0]! }] : [];
    const from = base.kind === "bookmark" ? newer[0]! : base;
    const rest = base.kind === "bookmark" ? newer.slice(1) : newer;
    if (rest.length === 0) return head;
    return [...head, { kind: "incremental", from, to: rest.at(-1)!, ...(rest.length > 1 ? { intermediates: rest.slice(0, -1) } : {}) }];
  }
  const steps: Step[] = [];
  let from = base;
  for (const to of newer) {
    steps.push({ kind: "incremental", from, to });
    from = to;
  }
  return steps;
}

function diverged(src: readonly PlanVersion[], targetSnaps: readonly PlanVersion[]): Plan {
  const commonIndex = findLastIndex(targetSnaps, (t) => findByGuid(src, t.guid) !== undefined);
  if (commonIndex < 0) {
    return { kind: "diverged", reason: `no common snapshot: none of the target's snapshots (${names(targetSnaps)}) is on the source` };
  }
  const newer = targetSnaps.slice(commonIndex + 1);
  return {
    kind: "diverged",
    reason: `the target has snapshots newer than the newest common one ${JSON.stringify(targetSnaps[commonIndex]!.name)}: ${names(newer)}`,
  };
}

/** The source version with `guid`, a snapshot rather than a bookmark of it. */
function findByGuid(src: readonly PlanVersion[], guid: bigint): PlanVersion | undefined {
  return src.find((v) => v.guid === guid && v.kind === "snapshot") ?? src.find((v) => v.guid === guid);
}

function findLastIndex<T>(items: readonly T[], pred: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (pred(items[i]!)) return i;
  return -1;
}

function names(versions: readonly PlanVersion[]): string {
  const shown = versions.slice(0, 5).map((v) => JSON.stringify(v.name));
  return versions.length > 5 ? `${shown.join(", ")} and ${versions.length - 5} more` : shown.join(", ");
}

/** Oldest first by createtxg; a bookmark before the snapshot of the same txg (as zfs/list.ts sorts). */
function sortVersions(versions: readonly PlanVersion[]): PlanVersion[] {
  return [...versions].sort((a, b) => {
    if (a.createtxg !== b.createtxg) return a.createtxg < b.createtxg ? -1 : 1;
    if (a.kind !== b.kind) return a.kind === "bookmark" ? -1 : 1;
    return 0;
  });
}
