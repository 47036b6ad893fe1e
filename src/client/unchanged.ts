/**
 * Unchanged filesystems cost nothing: where zfs has `snapshots_changed` (OpenZFS 2.2+), a
 * filesystem whose source and target both show the same dataset GUID and the same value as at a
 * run that found them up to date needs no listing of its snapshots and no plan (bzfs does the
 * same). Pure functions; unchanged-store.ts keeps the marks between runs.
 *
 * The value is a time in whole seconds, so a snapshot made later in the same second as the one a
 * listing saw would not move it. A mark is therefore kept only when its value is older than the
 * second the listing started in, on the clock of the host that listed it: every later change then
 * carries a later second.
 */
import { MAX_TREE_DATASETS, type TreeDatasetEntry } from "../api/index.ts";
import type { PlanVersion } from "./plan.ts";

/** One side of a filesystem as a listing showed it. */
export interface ChangeMark {
  /** The dataset's own GUID: a dataset destroyed and made again has a new one. */
  readonly guid: bigint;
  /**
   * `snapshots_changed`, Unix seconds; null where the dataset shows none (no snapshot was made or
   * destroyed since OpenZFS 2.2 came), trusted only for a source without snapshots.
   */
  readonly changed: number | null;
}

/**
 * A filesystem found up to date, with both sides' marks at that time; or a source found without
 * snapshots (nothing to send whatever the target holds, unless that is a partial receive).
 */
export type UnchangedEntry =
  | { readonly kind: "up_to_date"; readonly source: ChangeMark; readonly target: ChangeMark; /** The snapshot both sides were at. */ readonly at: PlanVersion }
  | { readonly kind: "no_snapshots"; readonly source: ChangeMark };

/** Source filesystem name → its entry. */
export type UnchangedMarks = ReadonlyMap<string, UnchangedEntry>;

/** What a listing says of a dataset, as far as marks go. */
export interface ListedDataset {
  readonly guid?: bigint | null;
  readonly snapshotsChanged?: number | null;
  /** A partial receive: the dataset is mid-change whatever its marks say. */
  readonly resumeToken?: string | null;
}

/**
 * The dataset's mark, or null when it has none to trust: no GUID or `snapshots_changed`, a
 * partial receive on it, or (with `listedAt`, the listing host's clock in Unix seconds when it
 * started) a value not older than that second. `none` also takes a dataset without a value (for a
 * source without snapshots: its first snapshot gives it one).
 */
export function markOf(d: ListedDataset | undefined, listedAt?: number | null, options: { none?: boolean } = {}): ChangeMark | null {
  if (!d || d.guid == null || d.resumeToken) return null;
  const changed = d.snapshotsChanged ?? null;
  if (changed === null) return options.none ? { guid: d.guid, changed: null } : null;
  if (listedAt !== undefined && (listedAt === null || changed >= Math.floor(listedAt))) return null;
  return { guid: d.guid, changed };
}

export function sameMark(a: ChangeMark | null, b: ChangeMark | null): boolean {
  return a !== null && b !== null && a.guid === b.guid && a.changed === b.changed;
}

/** Each side of a filesystem as listed now; `target` is undefined where the target does not exist. */
export interface ListedNow {
  source(name: string): ListedDataset | undefined;
  target(name: string): ListedDataset | undefined;
}

/** An up-to-date entry: both sides' marks and the snapshot they were at. */
export type UpToDateEntry = Extract<UnchangedEntry, { kind: "up_to_date" }>;

export interface SortedByChange {
  /** Marks held on both sides: nothing to do, as the entry says. */
  readonly unchanged: Map<string, UnchangedEntry>;
  /**
   * Up to date at their last run, and only the source moved since (the same source dataset, a
   * new `snapshots_changed`), where the caller takes that (`targetHeld`): the target still ends
   * at the entry's snapshot, so only the source's snapshots need listing.
   */
  readonly targetHeld: Map<string, UpToDateEntry>;
  /** The rest: both sides' snapshots need listing. */
  readonly changed: string[];
}

/**
 * Splits `names` into those whose marks on both sides equal their entry's, those whose target
 * alone held its mark (with `targetHeld`), and the rest, which need their snapshots listed.
 */
export function sortByChange(names: readonly string[], marks: UnchangedMarks, now: ListedNow, options: { targetHeld?: boolean } = {}): SortedByChange {
  const unchanged = new Map<string, UnchangedEntry>();
  const targetHeld = new Map<string, UpToDateEntry>();
  const changed: string[] = [];
  for (const name of names) {
    const entry = marks.get(name);
    const source = now.source(name);
    const target = now.target(name);
    if (entry && holds(entry, source, target)) unchanged.set(name, entry);
    else if (options.targetHeld && entry?.kind === "up_to_date" && source?.guid === entry.source.guid && sameMark(entry.target, markOf(target))) targetHeld.set(name, entry);
    else changed.push(name);
  }
  return { unchanged, targetHeld, changed };
}

function holds(entry: UnchangedEntry, source: ListedDataset | undefined, target: ListedDataset | undefined): boolean {
  return sourceHolds(entry, source) && (entry.kind === "no_snapshots" ? !target?.resumeToken : sameMark(entry.target, markOf(target)));
}

function sourceHolds(entry: UnchangedEntry | undefined, source: ListedDataset | undefined): boolean {
  if (!entry) return false;
  return sameMark(entry.source, entry.kind === "no_snapshots" ? markOf(source, undefined, { none: true }) : markOf(source));
}

/** secondRound's rule: a side is listed whole where more of it moved than naming each would save. */
function listedWhole(moved: number, total: number): boolean {
  return moved > total / 2 || moved > MAX_TREE_DATASETS;
}

/**
 * Whether the second round lists the source whole whatever the target's listing shows: the
 * sources whose own marks moved are enough for it (the target can only add filesystems to that
 * listing). The source's second round can then start before the target's first one is in.
 */
export function sourceListedWhole(names: readonly string[], marks: UnchangedMarks, source: (name: string) => ListedDataset | undefined): boolean {
  let moved = 0;
  for (const name of names) if (!sourceHolds(marks.get(name), source(name))) moved++;
  return listedWhole(moved, names.length);
}

/** This host's clock in whole seconds, read before a listing whose marks may be kept. */
export function clockSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A server's dataset entry (list_tree) as marks see it. */
export function listedEntry(entry: TreeDatasetEntry | undefined): ListedDataset | undefined {
  return entry && { guid: entry.guid ?? null, snapshotsChanged: entry.snapshots_changed ?? null, resumeToken: entry.resume_token ?? null };
}

/**
 * `base` with the nodes of `names` replaced by those of a second, narrower listing (`fresh`, keyed
 * as `key(name)` says): what that listing shows is the state planned from, so a name it lacks is
 * gone.
 */
export function replaceNamed<V>(base: ReadonlyMap<string, V>, fresh: ReadonlyMap<string, V>, names: readonly string[], key: (name: string) => string = (n) => n): Map<string, V> {
  const out = new Map(base);
  for (const name of names) {
    const k = key(name);
    const node = fresh.get(k);
    if (node) out.set(k, node);
    else out.delete(k);
  }
  return out;
}

/** What the second round lists of one side: every filesystem, those named, or (an empty list) none. */
export type SideListing = "whole" | readonly string[];

/** What a job's second round lists, and the filesystems it plans without listing their target. */
export interface SecondRoundLists {
  readonly source: SideListing;
  readonly target: SideListing;
  /** Listed on the source only: their target ends at the entry's snapshot (sortByChange). */
  readonly targetHeld: ReadonlyMap<string, UpToDateEntry>;
}

/**
 * The second round of a job's listings, after a first of datasets alone: the filesystems whose
 * marks held need nothing more; the others' versions are listed by name, or a side's whole tree
 * when more than half of it moved, which costs less than naming each. With `targetHeld`, a target
 * that held its mark while its source moved is not listed again (`list` plans it from the mark).
 */
export async function secondRound<T>(
  listed: T,
  args: { names: readonly string[]; marks: UnchangedMarks; now: ListedNow; targetHeld?: boolean; list: (lists: SecondRoundLists) => Promise<T> },
): Promise<{ trees: T; unchanged: Map<string, UnchangedEntry> }> {
  const { unchanged, targetHeld, changed } = sortByChange(args.names, args.marks, args.now, { targetHeld: args.targetHeld ?? false });
  const side = (moved: readonly string[]): SideListing => (listedWhole(moved.length, args.names.length) ? "whole" : moved);
  const lists: SecondRoundLists = { source: side([...changed, ...targetHeld.keys()]), target: side(changed), targetHeld };
  if (lists.source !== "whole" && lists.source.length === 0) return { trees: listed, unchanged };
  return { trees: await args.list(lists), unchanged };
}
