/**
 * A whole tree in one zfs process: every filesystem and volume at and below some roots (or in
 * every pool), each with its snapshots and bookmarks and the numbers replication needs. Planning a
 * job of ten thousand filesystems costs one listing per side instead of one per filesystem.
 *
 * OpenZFS answers in one `zfs list -p` line per object (old zfs: tree-listing-get.ts). Where asked,
 * placeholder marks come from a second `zfs get -s local,received` of the filesystems beside it (a
 * listing cannot tell a property set on a dataset from one it inherits); the same call reads the
 * properties a receiving side asks for. A listing of datasets alone that needs them is that one
 * `zfs get` with the listing's columns added (tree-listing-get.ts, scanGet).
 *
 * Records are yielded as zfs prints them, in batches (those of one chunk of its output); nothing
 * holds the whole listing.
 */
import { parseOrThrow, tabFields } from "./_parse.ts";
import { scanListing } from "./_list-scan.ts";
import { SNAPSHOTS_CHANGED, datasetFilter, depthArgs, interner, listingChunks, listingLines } from "./_tree-record.ts";
import { ZfsError } from "./errors.ts";
import { versionOf, type DatasetName } from "./names.ts";
import { PackedVersions, VersionColumnsBuilder, VersionTable, type VersionView } from "./packed-versions.ts";
import { PLACEHOLDER_PROPERTY, isPlaceholderMark } from "./placeholder.ts";
import type { ZfsRunner } from "./runner.ts";
import { scanGet, scanViaGet } from "./tree-listing-get.ts";
import type { ScanTreeOptions, TreeNode, TreeRecord, TreeVersion } from "./tree-types.ts";

export type { ScanTreeOptions, TreeDataset, TreeNode, TreeRecord, TreeVersion } from "./tree-types.ts";

/**
 * Lists `roots` and everything below them (every pool when `roots` is empty), in order, a batch
 * of records at a time (never an empty one).
 * @throws ZfsError when zfs fails (`isDatasetMissing` for a missing root) or prints something unparseable
 */
export async function* scanTree(runner: ZfsRunner, roots: readonly DatasetName[], options: ScanTreeOptions = {}): AsyncGenerator<readonly TreeRecord[], void, undefined> {
  if (options.rootsOnly && roots.length === 0) return;
  const caps = await runner.capabilities();
  if (caps.listParsable) yield* scanParsable(runner, roots, { ...options, bookmarks: caps.bookmarks, resumable: caps.resumable, encryption: (options.encryption ?? false) && caps.raw });
  else yield* scanViaGet(runner, roots, options);
}

/**
 * The whole tree below `root` or each of several roots (inclusive; every pool for null), keyed by
 * dataset name, versions sorted and packed in one VersionTable (packed-versions.ts): each
 * dataset's as soon as the next dataset begins, so that no more than one dataset's versions are
 * ever held as objects.
 * @throws ZfsError as `scanTree`
 */
export async function readTree(runner: ZfsRunner, root: DatasetName | readonly DatasetName[] | null, options: ScanTreeOptions = {}): Promise<Map<string, TreeNode>> {
  const tree = new Map<string, TreeNode>();
  // Versions still coming, by dataset: zfs prints a dataset before its versions, so this is the
  // last dataset listed; should a version ever come elsewhere, it still finds its place.
  const pending = new Map<string, VersionColumnsBuilder>();
  const table = new VersionTable();
  const pack = (name: string): void => {
    const builder = pending.get(name);
    const node = tree.get(name);
    if (!builder || !node) return;
    pending.delete(name);
    if (builder.size > 0) tree.set(name, { dataset: node.dataset, versions: table.append(builder, node.dataset.name, treeVersionView) });
  };
  let current: string | null = null;
  const roots = root === null ? [] : typeof root === "string" ? [root] : root;
  for await (const batch of scanTree(runner, roots, options)) {
    for (const record of batch) {
      if (record.kind === "dataset") {
        if (current !== null) pack(current);
        current = record.dataset.name;
        tree.set(current, { dataset: record.dataset, versions: NO_VERSIONS });
        if (!pending.has(current)) pending.set(current, new VersionColumnsBuilder());
        continue;
      }
      let builder = pending.get(record.dataset);
      if (!builder) {
        builder = new VersionColumnsBuilder();
        pending.set(record.dataset, builder);
        // Listed and packed already: its versions so far join the new ones.
        const node = tree.get(record.dataset);
        if (node?.versions instanceof PackedVersions) for (const row of node.versions.rows()) builder.push(row);
      }
      if (record.kind === "versions") builder.pushColumns(record.columns);
      else builder.push(record.version);
    }
  }
  for (const name of [...pending.keys()]) pack(name);
  return tree;
}

// --- internal ---

const NO_VERSIONS: readonly TreeVersion[] = Object.freeze([]);

/** A packed version read as the zfs layer lists it. */
const treeVersionView: VersionView<TreeVersion> = (c, i, dataset) => {
  const kind = c.bookmark[i] === 1 ? "bookmark" : "snapshot";
  const referenced = c.referenced[i]!;
  const written = c.written[i]!;
  return {
    name: versionOf(dataset as DatasetName, kind, c.names[i]!),
    guid: c.guid[i]!,
    createtxg: c.createtxg[i]!,
    creation: c.creation[i]!,
    referenced: Number.isNaN(referenced) ? null : referenced,
    written: Number.isNaN(written) ? null : written,
  };
};

/** Old OpenZFS (before 2.2) lacks snapshots_changed; a listing that asks for it fails there. */
const withoutSnapshotsChanged = new Set<string>();

async function* scanParsable(
  runner: ZfsRunner,
  roots: readonly DatasetName[],
  options: ScanTreeOptions & { bookmarks: boolean; resumable: boolean },
): AsyncGenerator<readonly TreeRecord[], void, undefined> {
  const changed = !withoutSnapshotsChanged.has(runner.bin);
  // Sizes are versions' (a dataset's record has none).
  const sizes = options.sizes === false || options.versions === false ? [] : ["referenced", "written"];
  const columns = ["name", "type", "guid", "createtxg", "creation", ...sizes, ...(changed ? [SNAPSHOTS_CHANGED] : []), ...(options.resumable ? ["receive_resume_token"] : []), ...(options.encryption ? ["encryption"] : [])];
  const wanted = options.properties ?? [];
  // Datasets alone with their marks or properties: one `zfs get` reads both. A `zfs list` and a
  // `zfs get` beside it would each open every dataset, which is what such a listing costs (on
  // OpenZFS, a received dataset that is not mounted is read from disk each time).
  const marked = (options.placeholders ?? false) || wanted.length > 0;
  const viaGet = options.versions === false && marked;
  const types = options.versions === false ? "filesystem,volume" : options.bookmarks ? "filesystem,volume,snapshot,bookmark" : "filesystem,volume,snapshot";
  const argv = ["list", "-H", "-p", "-t", types, "-o", columns.join(","), ...depthArgs(roots, options)];
  const keep = datasetFilter(roots, options);
  // Started before the listing, read when the first dataset needs it.
  const local = marked && !viaGet ? localProperties(runner, roots, wanted, options) : Promise.resolve(new Map<string, PropertyValues>());
  local.catch(() => {}); // its failure surfaces where it is awaited
  const intern = interner();
  const propertiesOf = sharedProperties(wanted);
  let index = 0;
  try {
    if (viaGet) {
      for await (const batch of scanGet(runner, roots, { ...options, types, columns: columns.slice(1) })) {
        index += batch.length;
        yield batch;
      }
      return;
    }
    for await (const records of scanListing(listingChunks(runner, argv, roots, options), argv, columns, intern)) {
      const sets = marked ? await local : null;
      const batch: TreeRecord[] = [];
      for (const record of records) {
        index++;
        if (record.kind !== "dataset") batch.push(record);
        else if (!keep(record.dataset.name)) continue;
        else if (sets === null) batch.push(record);
        else {
          const set = sets.get(record.dataset.name);
          const mark = set?.get(PLACEHOLDER_PROPERTY);
          const placeholder = (options.placeholders ?? false) && isPlaceholderMark(mark);
          batch.push({ kind: "dataset", dataset: { ...record.dataset, placeholder, ...(wanted.length > 0 ? { properties: propertiesOf(set) } : {}) } });
        }
      }
      if (batch.length > 0) yield batch;
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

type PropertyValues = Map<string, { value: string; source: string }>;

/** A property neither set here nor received; one object for every dataset of a wide listing. */
const UNSET = Object.freeze({ value: "", source: "inherited" });

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
  for await (const lines of listingLines(runner, argv, roots, options)) {
    for (const line of lines) {
      const [name, property, value, source] = parseOrThrow(argv, line, i, () => tabFields(line, 4)) as [string, string, string, string];
      let set = out.get(name);
      if (!set) out.set(name, (set = new Map()));
      set.set(property, { value, source });
      i++;
    }
  }
  return out;
}

/**
 * withUnset, one map for every dataset whose values are the same: a received tree's datasets
 * mostly are (the same confined values, set by the same receives), and ten thousand maps of eight
 * entries each were some 10 MB.
 */
function sharedProperties(wanted: readonly string[]): (set: PropertyValues | undefined) => ReadonlyMap<string, { value: string; source: string }> {
  const seen = new Map<string, PropertyValues>();
  return (set) => {
    const key = set ? [...set].map(([p, { value, source }]) => `${p}\0${value}\0${source}`).join("\0\0") : "";
    let map = seen.get(key);
    if (!map) seen.set(key, (map = withUnset(set, wanted)));
    return map;
  };
}

/**
 * `wanted` as `zfs get` would show them (those neither set here nor received come from elsewhere),
 * with the placeholder mark where there is one, as old zfs's listing has it (isConfined reads it).
 */
function withUnset(set: PropertyValues | undefined, wanted: readonly string[]): PropertyValues {
  const all: PropertyValues = new Map();
  for (const p of wanted) all.set(p, set?.get(p) ?? UNSET);
  const mark = set?.get(PLACEHOLDER_PROPERTY);
  if (mark) all.set(PLACEHOLDER_PROPERTY, mark);
  return all;
}

