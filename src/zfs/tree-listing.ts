/**
 * A whole tree in one zfs process: every filesystem and volume at and below some roots (or in
 * every pool), each with its snapshots and bookmarks and the numbers replication needs. Planning a
 * job of ten thousand filesystems costs one listing per side instead of one per filesystem.
 *
 * OpenZFS answers in one `zfs list -p` line per object. Old zfs (zfs-fuse) humanizes `list -o guid`,
 * so there the listing is one `zfs get -p -r`, a line per property, grouped by object. Where asked,
 * placeholder marks come from a second `zfs get -s local,received` of the filesystems beside it on
 * OpenZFS (a listing
 * cannot tell a property set on a dataset from one it inherits); the same call reads the
 * properties a receiving side asks for.
 *
 * Records are yielded as zfs prints them; nothing holds the whole listing.
 */
import { badLine, compareVersions, parseOrThrow, parseUint64, resumeTokenOf } from "./_parse.ts";
import { ZfsError } from "./errors.ts";
import type { ZfsVersion } from "./list.ts";
import { parseDatasetName, parseVersionName, type DatasetName } from "./names.ts";
import { PLACEHOLDER_PROPERTY } from "./placeholder.ts";
import { runZfsLines } from "./run-lines.ts";
import type { ZfsRunOptions, ZfsRunner } from "./runner.ts";

/** A filesystem or volume of the tree. */
export interface TreeDataset {
  readonly name: DatasetName;
  readonly type: "filesystem" | "volume";
  /** The dataset's own GUID; a dataset destroyed and made again under the same name has a new one. */
  readonly guid: bigint | null;
  /** OpenZFS 2.2+ `snapshots_changed` (unix seconds); null where zfs has none. */
  readonly snapshotsChanged: number | null;
  /** A partial receive's `receive_resume_token`; null where there is none. */
  readonly resumeToken: string | null;
  /** zferry:placeholder=on set on the dataset itself; false unless `placeholders` was asked. */
  readonly placeholder: boolean;
  /** Its `encryption` ("off", "aes-256-gcm", …) where asked and zfs has it; else null. */
  readonly encryption: string | null;
  /**
   * The `properties` asked for, with their sources. On OpenZFS only those set locally or received
   * are read (beside the listing); the others show source "inherited" (inherited or default).
   */
  readonly properties?: ReadonlyMap<string, { readonly value: string; readonly source: string }>;
}

/** A snapshot or bookmark of the tree, with what estimates a send of it. */
export interface TreeVersion extends ZfsVersion {
  /** Bytes the snapshot refers to (a full stream's size, roughly); null for a bookmark. */
  readonly referenced: bigint | null;
  /** Bytes written since the previous snapshot (an incremental's size, roughly); null where zfs has none. */
  readonly written: bigint | null;
}

export type TreeRecord = { readonly kind: "dataset"; readonly dataset: TreeDataset } | { readonly kind: "version"; readonly version: TreeVersion };

export interface ScanTreeOptions extends ZfsRunOptions {
  /** Read placeholder marks too (a receiving side plans with them). */
  readonly placeholders?: boolean;
  /** Read each dataset's `encryption` too (only zfs with native encryption has it: `send -w`). */
  readonly encryption?: boolean;
  /**
   * Native properties to read with their sources (TreeDataset.properties): on old zfs within its
   * listing, which is a `zfs get` anyway; on OpenZFS in the one `zfs get` that reads placeholder
   * marks, at no extra cost.
   */
  readonly properties?: readonly string[];
  /**
   * A root that does not exist holds nothing: the listing of the others stands (zfs lists every
   * root it can open and exits 1 for those it cannot).
   */
  readonly missingRootsOk?: boolean;
  /** false: filesystems and volumes alone, without snapshots and bookmarks. */
  readonly versions?: boolean;
  /** Each root with its own versions and nothing below it (`-d 1`); needs roots. */
  readonly rootsOnly?: boolean;
}

/** A dataset of a tree with its versions, oldest first. */
export interface TreeNode {
  readonly dataset: TreeDataset;
  readonly versions: TreeVersion[];
}

/**
 * Lists `roots` and everything below them (every pool when `roots` is empty), record by record.
 * @throws ZfsError when zfs fails (`isDatasetMissing` for a missing root) or prints something unparseable
 */
export async function* scanTree(runner: ZfsRunner, roots: readonly DatasetName[], options: ScanTreeOptions = {}): AsyncGenerator<TreeRecord, void, undefined> {
  if (options.rootsOnly && roots.length === 0) return;
  const caps = await runner.capabilities();
  if (caps.listParsable) yield* scanParsable(runner, roots, { ...options, bookmarks: caps.bookmarks, resumable: caps.resumable, encryption: (options.encryption ?? false) && caps.raw });
  else yield* scanViaGet(runner, roots, options);
}

/**
 * The whole tree below `root` or each of several roots (inclusive; every pool for null), keyed by
 * dataset name, versions sorted.
 * @throws ZfsError as `scanTree`
 */
export async function readTree(runner: ZfsRunner, root: DatasetName | readonly DatasetName[] | null, options: ScanTreeOptions = {}): Promise<Map<string, TreeNode>> {
  const tree = new Map<string, TreeNode>();
  const orphans: TreeVersion[] = [];
  const roots = root === null ? [] : typeof root === "string" ? [root] : root;
  for await (const record of scanTree(runner, roots, options)) {
    if (record.kind === "dataset") tree.set(record.dataset.name, { dataset: record.dataset, versions: [] });
    else {
      const node = tree.get(record.version.name.dataset);
      if (node) node.versions.push(record.version);
      else orphans.push(record.version);
    }
  }
  // zfs prints a dataset before its snapshots; should one ever come first, it still finds its place.
  for (const v of orphans) tree.get(v.name.dataset)?.versions.push(v);
  for (const node of tree.values()) node.versions.sort(compareVersions);
  return tree;
}

// --- internal ---

/** Old OpenZFS (before 2.2) lacks this property; a listing that asks for it fails there. */
const SNAPSHOTS_CHANGED = "snapshots_changed";
const withoutSnapshotsChanged = new Set<string>();

async function* scanParsable(
  runner: ZfsRunner,
  roots: readonly DatasetName[],
  options: ScanTreeOptions & { bookmarks: boolean; resumable: boolean },
): AsyncGenerator<TreeRecord, void, undefined> {
  const changed = !withoutSnapshotsChanged.has(runner.bin);
  const columns = ["name", "type", "guid", "createtxg", "creation", "referenced", "written", ...(changed ? [SNAPSHOTS_CHANGED] : []), ...(options.resumable ? ["receive_resume_token"] : []), ...(options.encryption ? ["encryption"] : [])];
  const types = options.versions === false ? "filesystem,volume" : options.bookmarks ? "filesystem,volume,snapshot,bookmark" : "filesystem,volume,snapshot";
  const argv = ["list", "-H", "-p", "-t", types, "-o", columns.join(","), ...depthArgs(roots, options)];
  const keep = datasetFilter(roots, options);
  // Started before the listing, read when the first dataset needs it.
  const wanted = options.properties ?? [];
  const local = options.placeholders || wanted.length > 0 ? localProperties(runner, roots, wanted, options) : Promise.resolve(new Map<string, PropertyValues>());
  local.catch(() => {}); // its failure surfaces where it is awaited
  let index = 0;
  try {
    for await (const line of listingLines(runner, argv, roots, options)) {
      const i = index++;
      const record = parseOrThrow(argv, line, i, () => parseListLine(line, columns));
      if (record.kind === "dataset") {
        if (!keep(record.dataset.name)) continue;
        if (!options.placeholders && wanted.length === 0) {
          yield record;
          continue;
        }
        const set = (await local).get(record.dataset.name);
        const mark = set?.get(PLACEHOLDER_PROPERTY);
        const placeholder = (options.placeholders ?? false) && mark?.value === "on" && mark.source === "local";
        yield { kind: "dataset", dataset: { ...record.dataset, placeholder, ...(wanted.length > 0 ? { properties: withUnset(set, wanted) } : {}) } };
      } else yield record;
    }
  } catch (err) {
    if (changed && index === 0 && err instanceof ZfsError && err.stderr.includes(`'${SNAPSHOTS_CHANGED}'`)) {
      withoutSnapshotsChanged.add(runner.bin);
      yield* scanParsable(runner, roots, options);
      return;
    }
    throw err;
  }
  await local;
}

function parseListLine(line: string, columns: readonly string[]): TreeRecord {
  const fields = line.split("\t");
  if (fields.length !== columns.length) throw new SyntaxError(`expected ${columns.length} tab-separated fields, got ${fields.length}`);
  const value = (column: string): string | undefined => {
    const i = columns.indexOf(column);
    return i < 0 ? undefined : fields[i];
  };
  return makeRecord(fields[0]!, value);
}

type PropertyValues = Map<string, { value: string; source: string }>;

/**
 * The placeholder mark and `properties` set on each filesystem and volume at or below `roots`
 * (the roots alone with `rootsOnly`), locally or by a receive: one `zfs get -s local,received`.
 * `-t filesystem,volume` matters: under emulation, reading a property of every snapshot too made
 * this call cost twice the rest of the listing.
 */
async function localProperties(runner: ZfsRunner, roots: readonly DatasetName[], properties: readonly string[], options: ScanTreeOptions): Promise<Map<string, PropertyValues>> {
  const names = [...new Set([...properties, PLACEHOLDER_PROPERTY])].join(",");
  const depth = options.rootsOnly ? ["-d", "0"] : ["-r"];
  const argv = ["get", "-H", ...depth, "-t", "filesystem,volume", "-s", "local,received", "-o", "name,property,value,source", names, ...roots];
  const out = new Map<string, PropertyValues>();
  let i = 0;
  for await (const line of listingLines(runner, argv, roots, options)) {
    const fields = line.split("\t");
    if (fields.length !== 4) badLine(argv, line, i, `expected 4 tab-separated fields, got ${fields.length}`);
    const [name, property, value, source] = fields as [string, string, string, string];
    let set = out.get(name);
    if (!set) out.set(name, (set = new Map()));
    set.set(property, { value, source });
    i++;
  }
  return out;
}

/**
 * `wanted` as `zfs get` would show them (those neither set here nor received come from elsewhere),
 * with the placeholder mark where there is one, as old zfs's listing has it (isConfined reads it).
 */
function withUnset(set: PropertyValues | undefined, wanted: readonly string[]): PropertyValues {
  const all: PropertyValues = new Map();
  for (const p of wanted) all.set(p, set?.get(p) ?? { value: "", source: "inherited" });
  const mark = set?.get(PLACEHOLDER_PROPERTY);
  if (mark) all.set(PLACEHOLDER_PROPERTY, mark);
  return all;
}

/** One object's lines of `zfs get -H -p -r -o name,property,value,source`, gathered. */
async function* scanViaGet(runner: ZfsRunner, roots: readonly DatasetName[], options: ScanTreeOptions): AsyncGenerator<TreeRecord, void, undefined> {
  const extra = (options.properties ?? []).filter((p) => p !== PLACEHOLDER_PROPERTY);
  const props = ["type", "guid", "createtxg", "creation", "referenced", ...extra, ...(options.placeholders || extra.length ? [PLACEHOLDER_PROPERTY] : [])];
  const argv = ["get", "-H", "-p", ...depthArgs(roots, options, true), "-o", "name,property,value,source", props.join(","), ...roots];
  const keep = datasetFilter(roots, options);
  let current: string | null = null;
  let values = new Map<string, { value: string; source: string }>();
  let index = 0;
  const flush = (): TreeRecord =>
    parseOrThrow(argv, current!, index, () => {
      const got = values;
      const record = makeRecord(current!, (p) => got.get(p)?.value);
      if (record.kind !== "dataset") return record;
      const mark = got.get(PLACEHOLDER_PROPERTY);
      const placeholder = (options.placeholders ?? false) && mark?.value === "on" && mark.source === "local";
      return { kind: "dataset", dataset: { ...record.dataset, placeholder, ...(options.properties ? { properties: got } : {}) } };
    });
  for await (const line of listingLines(runner, argv, roots, options)) {
    index++;
    const fields = line.split("\t");
    if (fields.length !== 4) badLine(argv, line, index - 1, `expected 4 tab-separated fields, got ${fields.length}`);
    const [name, property, value, source] = fields as [string, string, string, string];
    if (name !== current) {
      if (current !== null) {
        const record = flush();
        if (record.kind === "dataset" ? keep(record.dataset.name) : options.versions !== false) yield record;
      }
      current = name;
      values = new Map();
    }
    values.set(property, { value, source });
  }
  if (current !== null) {
    const record = flush();
    if (record.kind === "dataset" ? keep(record.dataset.name) : options.versions !== false) yield record;
  }
}

/** `-r` below the roots, `-d 1` (`-d 0` without versions) for the roots alone; every pool recursively without roots. */
function depthArgs(roots: readonly DatasetName[], options: ScanTreeOptions, always = false): string[] {
  if (options.rootsOnly) return ["-d", options.versions === false ? "0" : "1", ...(always ? [] : roots)];
  return always || roots.length > 0 ? ["-r", ...(always ? [] : roots)] : [];
}

/** Which dataset records a listing yields: with rootsOnly, the roots' children that `-d 1` prints are left out. */
function datasetFilter(roots: readonly DatasetName[], options: ScanTreeOptions): (name: string) => boolean {
  if (!options.rootsOnly) return () => true;
  const wanted = new Set<string>(roots);
  return (name) => wanted.has(name);
}

/** A listing's lines; with `missingRootsOk`, roots zfs could not open are left out rather than failing it. */
async function* listingLines(runner: ZfsRunner, argv: readonly string[], roots: readonly DatasetName[], options: ScanTreeOptions): AsyncGenerator<string, void, undefined> {
  try {
    yield* runZfsLines(argv, { ...options, bin: runner.bin });
  } catch (err) {
    if (options.missingRootsOk && err instanceof ZfsError && onlyMissingRoots(err, roots)) return;
    throw err;
  }
}

/** zfs exited 1 and all it said is that some of `roots` do not exist. */
function onlyMissingRoots(err: ZfsError, roots: readonly DatasetName[]): boolean {
  if (err.exitCode !== 1) return false;
  const lines = err.stderr.split("\n").filter((l) => l.trim() !== "");
  return lines.length > 0 && lines.every((l) => roots.some((root) => l.trim() === `cannot open '${root}': dataset does not exist`));
}

/** A record from one object's columns; `value` gives a column's text, undefined when not listed. */
function makeRecord(name: string, value: (column: string) => string | undefined): TreeRecord {
  const type = value("type");
  const number = (column: string): bigint | null => {
    const text = value(column);
    return text === undefined || text === "-" ? null : parseUint64(text, column);
  };
  if (type === "filesystem" || type === "volume") {
    const changed = number(SNAPSHOTS_CHANGED);
    const token = value("receive_resume_token");
    const encryption = value("encryption");
    return {
      kind: "dataset",
      dataset: {
        name: parseDatasetName(name),
        type,
        guid: number("guid"),
        snapshotsChanged: changed === null ? null : safeNumber(changed, SNAPSHOTS_CHANGED),
        resumeToken: token === undefined ? null : resumeTokenOf(token),
        placeholder: false,
        encryption: encryption === undefined || encryption === "-" ? null : encryption,
      },
    };
  }
  if (type !== "snapshot" && type !== "bookmark") throw new SyntaxError(`unexpected type ${JSON.stringify(type)}`);
  const version = parseVersionName(name);
  if (version.kind !== type) throw new SyntaxError(`a ${type} named ${JSON.stringify(name)}`);
  const guid = number("guid");
  const createtxg = number("createtxg");
  const creation = number("creation");
  if (guid === null || createtxg === null || creation === null) throw new SyntaxError("missing guid, createtxg or creation");
  return {
    kind: "version",
    version: { name: version, guid, createtxg, creation: safeNumber(creation, "creation"), referenced: type === "bookmark" ? null : number("referenced"), written: number("written") },
  };
}

function safeNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${what} ${value} is out of range`);
  return Number(value);
}
