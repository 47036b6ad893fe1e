/**
 * A whole tree in one zfs process: every filesystem and volume at and below some roots (or in
 * every pool), each with its snapshots and bookmarks and the numbers replication needs. Planning a
 * job of ten thousand filesystems costs one listing per side instead of one per filesystem.
 *
 * OpenZFS answers in one `zfs list -p` line per object. Old zfs (zfs-fuse) humanizes `list -o guid`,
 * so there the listing is one `zfs get -p -r`, a line per property, grouped by object. Where asked,
 * placeholder marks come from a second, small `zfs get -s local` beside it on OpenZFS (a listing
 * cannot tell a property set on a dataset from one it inherits).
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
  /** OpenZFS 2.2+ `snapshots_changed` (unix seconds); null where zfs has none. */
  readonly snapshotsChanged: number | null;
  /** A partial receive's `receive_resume_token`; null where there is none. */
  readonly resumeToken: string | null;
  /** zferry:placeholder=on set on the dataset itself; false unless `placeholders` was asked. */
  readonly placeholder: boolean;
  /** Its `encryption` ("off", "aes-256-gcm", …) where asked and zfs has it; else null. */
  readonly encryption: string | null;
  /** The `properties` asked for, with their sources; only where zfs lists by `zfs get` (old zfs). */
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
   * Native properties to read with their sources where that costs nothing extra: old zfs, whose
   * listing is a `zfs get` anyway (TreeDataset.properties); OpenZFS lists without them.
   */
  readonly properties?: readonly string[];
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
  const caps = await runner.capabilities();
  if (caps.listParsable) yield* scanParsable(runner, roots, { ...options, bookmarks: caps.bookmarks, resumable: caps.resumable, encryption: (options.encryption ?? false) && caps.raw });
  else yield* scanViaGet(runner, roots, options);
}

/**
 * The whole tree below `root` (inclusive; every pool for null), keyed by dataset name, versions sorted.
 * @throws ZfsError as `scanTree`
 */
export async function readTree(runner: ZfsRunner, root: DatasetName | null, options: ScanTreeOptions = {}): Promise<Map<string, TreeNode>> {
  const tree = new Map<string, TreeNode>();
  const orphans: TreeVersion[] = [];
  for await (const record of scanTree(runner, root === null ? [] : [root], options)) {
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
  const types = options.bookmarks ? "filesystem,volume,snapshot,bookmark" : "filesystem,volume,snapshot";
  const argv = ["list", "-H", "-p", "-t", types, "-o", columns.join(","), ...(roots.length ? ["-r", ...roots] : [])];
  // Started before the listing, read when the first dataset needs it.
  const marks = options.placeholders ? localPlaceholders(runner, roots, options) : Promise.resolve(new Set<string>());
  marks.catch(() => {}); // its failure surfaces where it is awaited
  let index = 0;
  try {
    for await (const line of runZfsLines(argv, { ...options, bin: runner.bin })) {
      const i = index++;
      const record = parseOrThrow(argv, line, i, () => parseListLine(line, columns));
      if (record.kind === "dataset") {
        const placeholder = (await marks).has(record.dataset.name);
        yield placeholder ? { kind: "dataset", dataset: { ...record.dataset, placeholder } } : record;
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
  await marks;
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

/** Datasets at or below `roots` with zferry:placeholder set on themselves. */
async function localPlaceholders(runner: ZfsRunner, roots: readonly DatasetName[], options: ZfsRunOptions): Promise<Set<string>> {
  const argv = ["get", "-H", "-r", "-s", "local", "-o", "name,value", PLACEHOLDER_PROPERTY, ...roots];
  const out = new Set<string>();
  let i = 0;
  for await (const line of runZfsLines(argv, { ...options, bin: runner.bin })) {
    const [name, value] = line.split("\t");
    if (value === undefined) badLine(argv, line, i, "expected 2 tab-separated fields");
    if (value === "on" && !name!.includes("@") && !name!.includes("#")) out.add(name!);
    i++;
  }
  return out;
}

/** One object's lines of `zfs get -H -p -r -o name,property,value,source`, gathered. */
async function* scanViaGet(runner: ZfsRunner, roots: readonly DatasetName[], options: ScanTreeOptions): AsyncGenerator<TreeRecord, void, undefined> {
  const extra = (options.properties ?? []).filter((p) => p !== PLACEHOLDER_PROPERTY);
  const props = ["type", "guid", "createtxg", "creation", "referenced", ...extra, ...(options.placeholders || extra.length ? [PLACEHOLDER_PROPERTY] : [])];
  const argv = ["get", "-H", "-p", "-r", "-o", "name,property,value,source", props.join(","), ...roots];
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
  for await (const line of runZfsLines(argv, { ...options, bin: runner.bin })) {
    index++;
    const fields = line.split("\t");
    if (fields.length !== 4) badLine(argv, line, index - 1, `expected 4 tab-separated fields, got ${fields.length}`);
    const [name, property, value, source] = fields as [string, string, string, string];
    if (name !== current) {
      if (current !== null) yield flush();
      current = name;
      values = new Map();
    }
    values.set(property, { value, source });
  }
  if (current !== null) yield flush();
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
