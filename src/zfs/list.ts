/**
 * Listing datasets and their versions (snapshots and bookmarks) with exact 64-bit numbers.
 * OpenZFS answers in one `zfs list -p`; old zfs (zfs-fuse) humanizes `list -o guid` ("16.0E"),
 * so there the names come from `zfs list` and the numbers from `zfs get -p`.
 */
import { parseDatasetName, parseVersionName, type DatasetName, type VersionName } from "./names.ts";
import { ZfsError, zfsOutputError } from "./errors.ts";
import { PLACEHOLDER_PROPERTY, isPlaceholderMark } from "./placeholder.ts";
import { compareVersions, lines, parseOrThrow, parseUint64, resumeTokenOf, tabFields } from "./_parse.ts";
import type { ZfsRunOptions, ZfsRunner } from "./runner.ts";

/** A snapshot or bookmark with the numbers replication compares. */
export interface ZfsVersion {
  readonly name: VersionName;
  /** 64-bit; equal guids mean the same snapshot on both sides. */
  readonly guid: bigint;
  readonly createtxg: bigint;
  /** Unix seconds. */
  readonly creation: number;
}

/** A version with how many holds it carries (`userrefs`; 0 for a bookmark, which holds cannot take). */
export interface HeldVersion extends ZfsVersion {
  readonly userrefs: number;
}

/**
 * Lists filesystems and volumes, all of them or `root` and everything below it.
 * @throws ZfsError when zfs fails (`isDatasetMissing` for a missing root) or prints a bad name
 */
export async function listFilesystems(runner: ZfsRunner, root?: DatasetName, options: ZfsRunOptions = {}): Promise<DatasetName[]> {
  const argv = ["list", "-H", "-o", "name", "-t", "filesystem,volume", ...(root === undefined ? [] : ["-r", root])];
  const out = await runner.run(argv, options);
  return lines(out).map((line, i) => parseOrThrow(argv, line, i, () => parseDatasetName(line)));
}

/**
 * Lists the snapshots (and bookmarks, where supported) of one dataset, oldest first by createtxg;
 * a bookmark sorts before a snapshot of the same txg.
 * @throws ZfsError when zfs fails (`isDatasetMissing`) or prints something unparseable
 */
export async function listVersions(runner: ZfsRunner, dataset: DatasetName, options: ZfsRunOptions = {}): Promise<ZfsVersion[]> {
  return listVersionsWith(runner, dataset, PLAIN, options);
}

/**
 * `listVersions` with each version's hold count, read in the same zfs command: what a hold or
 * destroy decides on, without a `zfs get userrefs` after the listing.
 * @throws ZfsError as `listVersions`
 */
export async function listHeldVersions(runner: ZfsRunner, dataset: DatasetName, options: ZfsRunOptions = {}): Promise<HeldVersion[]> {
  return listVersionsWith(runner, dataset, HELD, options);
}

/**
 * `listHeldVersions` of each of `datasets`, many to a zfs command (`-d 1` of each named dataset,
 * DATASETS_PER_CALL at most): what a hold or destroy of many datasets decides on. A dataset that
 * is gone fails its whole command; a caller that must tell the others apart lists them one by one.
 * @returns every dataset asked for, with its versions (oldest first)
 * @throws ZfsError as `listVersions`
 */
export async function listHeldVersionsOf(runner: ZfsRunner, datasets: readonly DatasetName[], options: ZfsRunOptions = {}): Promise<Map<DatasetName, HeldVersion[]>> {
  return listVersionsOfWith(runner, datasets, HELD, options);
}

/**
 * True when the filesystem or volume exists.
 * @throws ZfsError for any failure other than "dataset does not exist"
 */
export async function datasetExists(runner: ZfsRunner, dataset: DatasetName, options: ZfsRunOptions = {}): Promise<boolean> {
  try {
    await runner.run(["list", "-H", "-o", "name", dataset], options);
    return true;
  } catch (error) {
    if (error instanceof ZfsError && error.isDatasetMissing) return false;
    throw error;
  }
}

/**
 * The dataset's `receive_resume_token`, or null when there is none or this zfs cannot resume.
 * @throws ZfsError when zfs fails or prints something that is not a token
 */
export async function getResumeToken(runner: ZfsRunner, dataset: DatasetName, options: ZfsRunOptions = {}): Promise<string | null> {
  if (!(await runner.capabilities()).resumable) return null;
  const argv = ["get", "-H", "-o", "value", "receive_resume_token", dataset];
  const value = (await runner.run(argv, options)).trim();
  return parseOrThrow(argv, value, 0, () => resumeTokenOf(value));
}

/** A filesystem at or below a root, with what planning a push needs to know of it. */
export interface TreeEntry {
  readonly name: DatasetName;
  /** zferry:placeholder=on set on the dataset itself (what is received below one inherits it). */
  readonly placeholder: boolean;
  /** OpenZFS receive_resume_token of a partial receive; null where there is none. */
  readonly resumeToken: string | null;
}

/**
 * Every filesystem and volume at and below `root`, with its placeholder mark and resume token, in
 * one recursive `zfs get` (not one command per dataset). Snapshot lines are skipped: old zfs has
 * no `zfs get -t`.
 * @throws ZfsError when zfs fails (`isDatasetMissing` for a missing root) or prints something unparseable
 */
export async function listTree(runner: ZfsRunner, root: DatasetName, options: ZfsRunOptions = {}): Promise<TreeEntry[]> {
  const resumable = (await runner.capabilities()).resumable;
  const properties = resumable ? `${PLACEHOLDER_PROPERTY},receive_resume_token` : PLACEHOLDER_PROPERTY;
  const argv = ["get", "-H", "-r", "-o", "name,property,value,source", properties, root];
  const out = await runner.run(argv, options);
  const found = new Map<string, { placeholder: boolean; resumeToken: string | null }>();
  lines(out).forEach((line, i) =>
    parseOrThrow(argv, line, i, () => {
      const [name, property, value, source] = tabFields(line, 4) as [string, string, string, string];
      if (name.includes("@") || name.includes("#")) return;
      const entry = found.get(name) ?? { placeholder: false, resumeToken: null };
      found.set(name, entry);
      if (property === PLACEHOLDER_PROPERTY) entry.placeholder = isPlaceholderMark({ value, source });
      else if (property === "receive_resume_token") entry.resumeToken = resumeTokenOf(value);
    }),
  );
  return [...found].map(([name, entry]) => parseOrThrow(argv, name, 0, () => ({ name: parseDatasetName(name), ...entry })));
}

/**
 * Parses `zfs list -H -p -o name,guid,createtxg,creation` output, checking every name belongs
 * to `dataset`. Exported for tests.
 * @throws ZfsError naming the first line that does not parse
 */
export function parseVersionList(out: string, dataset: DatasetName, argv: readonly string[] = []): ZfsVersion[] {
  return parseListRows(out, new Set([dataset]), PLAIN, argv);
}

/**
 * Parses `zfs get -H -p -d 1 -o name,property,value guid,createtxg,creation DATASET` output into
 * versions, one per name, in the order the names first appear; the lines of datasets (the one
 * asked for, its children) are skipped. Exported for tests.
 * @throws ZfsError naming the first line that does not parse, or a name missing a property
 */
export function parseVersionGet(out: string, dataset: DatasetName, argv: readonly string[] = []): ZfsVersion[] {
  return parseGetRows(out, new Set([dataset]), PLAIN, argv);
}

// --- internal ---

/** The columns a version listing reads after the name, and how a row of them becomes a version. */
interface VersionRows<T extends ZfsVersion> {
  readonly columns: readonly string[];
  readonly build: (version: ZfsVersion, raw: Readonly<Record<string, string>>) => T;
}

const PLAIN: VersionRows<ZfsVersion> = { columns: ["guid", "createtxg", "creation"], build: (version) => version };
const HELD: VersionRows<HeldVersion> = { columns: [...PLAIN.columns, "userrefs"], build: (version, raw) => ({ ...version, userrefs: userrefsOf(version, raw.userrefs) }) };

/** Datasets named in one listing command: far below exec's argument limit. */
const DATASETS_PER_CALL = 500;

async function listVersionsWith<T extends ZfsVersion>(runner: ZfsRunner, dataset: DatasetName, rows: VersionRows<T>, options: ZfsRunOptions): Promise<T[]> {
  return (await listVersionsOfWith(runner, [dataset], rows, options)).get(dataset)!;
}

async function listVersionsOfWith<T extends ZfsVersion>(runner: ZfsRunner, datasets: readonly DatasetName[], rows: VersionRows<T>, options: ZfsRunOptions): Promise<Map<DatasetName, T[]>> {
  const caps = await runner.capabilities();
  const found = new Map<DatasetName, T[]>(datasets.map((ds) => [ds, []]));
  const asked = [...found.keys()];
  for (let i = 0; i < asked.length; i += DATASETS_PER_CALL) {
    const batch = asked.slice(i, i + DATASETS_PER_CALL);
    const versions = caps.listParsable ? await listVersionsParsable(runner, batch, rows, caps.bookmarks, options) : await listVersionsViaGet(runner, batch, rows, options);
    for (const v of versions) found.get(v.name.dataset)!.push(v);
  }
  for (const versions of found.values()) versions.sort(compareVersions);
  return found;
}

async function listVersionsParsable<T extends ZfsVersion>(runner: ZfsRunner, datasets: readonly DatasetName[], rows: VersionRows<T>, bookmarks: boolean, options: ZfsRunOptions): Promise<T[]> {
  const types = bookmarks ? "snapshot,bookmark" : "snapshot";
  const argv = ["list", "-H", "-p", "-o", ["name", ...rows.columns].join(","), "-t", types, "-d", "1", "-s", "createtxg", ...datasets];
  return parseListRows(await runner.run(argv, options), new Set(datasets), rows, argv);
}

/**
 * Old zfs in one command: `zfs get -d 1` reads each dataset, its snapshots and its child datasets
 * (not theirs); only the snapshots are kept. (A `zfs list` of the names and a `zfs get` of them
 * would make the one daemon walk the snapshots twice, in two processes.)
 */
async function listVersionsViaGet<T extends ZfsVersion>(runner: ZfsRunner, datasets: readonly DatasetName[], rows: VersionRows<T>, options: ZfsRunOptions): Promise<T[]> {
  const argv = ["get", "-H", "-p", "-d", "1", "-o", "name,property,value", rows.columns.join(","), ...datasets];
  return parseGetRows(await runner.run(argv, options), new Set(datasets), rows, argv);
}

function parseListRows<T extends ZfsVersion>(out: string, owners: ReadonlySet<string>, rows: VersionRows<T>, argv: readonly string[]): T[] {
  return lines(out).map((line, i) =>
    parseOrThrow(argv, line, i, () => {
      const [name, ...values] = tabFields(line, rows.columns.length + 1) as [string, ...string[]];
      const raw = Object.fromEntries(rows.columns.map((c, j) => [c, values[j]!]));
      return rows.build(makeVersion(owners, name, raw), raw);
    }),
  );
}

function parseGetRows<T extends ZfsVersion>(out: string, owners: ReadonlySet<string>, rows: VersionRows<T>, argv: readonly string[]): T[] {
  const props = new Map<string, Record<string, string>>();
  lines(out).forEach((line, i) =>
    parseOrThrow(argv, line, i, () => {
      const [name, property, value] = tabFields(line, 3) as [string, string, string];
      if (!name.includes("@") && !name.includes("#")) return; // a dataset: `-d 1` shows it and its children
      let entry = props.get(name);
      if (!entry) props.set(name, (entry = {}));
      entry[property] = value;
    }),
  );
  return [...props].map(([name, raw]) => {
    try {
      const missing = rows.columns.filter((c) => raw[c] === undefined);
      if (missing.length > 0) throw new SyntaxError(`missing ${missing.join(", ")}`);
      return rows.build(makeVersion(owners, name, raw), raw);
    } catch (error) {
      throw zfsOutputError(argv, `${JSON.stringify(name)}: ${(error as Error).message}`, { cause: error });
    }
  });
}

/** A snapshot's `userrefs` is a count; a bookmark's is "-" (it cannot be held). */
function userrefsOf(version: ZfsVersion, raw: string | undefined): number {
  if (version.name.kind === "bookmark" && raw === "-") return 0;
  const n = Number(raw);
  if (raw === undefined || !/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw new SyntaxError(`userrefs ${JSON.stringify(raw)} is not a count`);
  return n;
}

function makeVersion(owners: ReadonlySet<string>, name: string, raw: Record<string, string>): ZfsVersion {
  const version = checkOwn(owners, parseVersionName(name));
  const creation = Number(parseUint64(raw.creation!, "creation"));
  if (!Number.isSafeInteger(creation)) throw new RangeError(`creation ${raw.creation} is out of range`);
  return { name: version, guid: parseUint64(raw.guid!, "guid"), createtxg: parseUint64(raw.createtxg!, "createtxg"), creation };
}

/** The version, if it belongs to one of the datasets listed. */
function checkOwn(owners: ReadonlySet<string>, version: VersionName): VersionName {
  if (owners.has(version.dataset)) return version;
  const which = owners.size === 1 ? JSON.stringify([...owners][0]) : "any dataset listed";
  throw new SyntaxError(`${JSON.stringify(version.full)} is not a version of ${which}`);
}
