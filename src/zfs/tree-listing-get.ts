/**
 * The tree listing of old zfs (zfs-fuse), which humanizes `zfs list -o guid`: one `zfs get -p`, a
 * line per property, grouped by object. Its `zfs get` has no `-t`, so `-r` reads every snapshot
 * too; a listing of datasets alone lists their names first (`zfs list -t filesystem,volume`) and
 * asks `zfs get` for those by name.
 */
import { parseOrThrow, tabFields } from "./_parse.ts";
import { datasetFilter, depthArgs, interner, listingLines, makeRecord } from "./_tree-record.ts";
import { parseDatasetName, type DatasetName } from "./names.ts";
import { PLACEHOLDER_PROPERTY, isPlaceholderMark } from "./placeholder.ts";
import type { ZfsRunner } from "./runner.ts";
import type { ScanTreeOptions, TreeRecord } from "./tree-types.ts";

/** Batches of names per `zfs get`, well within the argument limit of exec. */
const NAMES_PER_GET = 1_000;

/**
 * The tree below `roots` (every pool without roots) from `zfs get`; without versions, the datasets
 * alone are listed by name (see above), so snapshots cost nothing.
 */
export async function* scanViaGet(runner: ZfsRunner, roots: readonly DatasetName[], options: ScanTreeOptions): AsyncGenerator<readonly TreeRecord[], void, undefined> {
  if (options.versions !== false || options.rootsOnly) {
    yield* scanGet(runner, roots, options);
    return;
  }
  const names: DatasetName[] = [];
  const argv = ["list", "-H", "-t", "filesystem,volume", "-o", "name", ...(roots.length > 0 ? ["-r", ...roots] : [])];
  let index = 0;
  for await (const lines of listingLines(runner, argv, roots, options)) for (const line of lines) names.push(parseOrThrow(argv, line, index++, () => parseDatasetName(line)));
  for (let i = 0; i < names.length; i += NAMES_PER_GET) {
    // One that was destroyed since the names were listed is left out, as if listed a moment later.
    yield* scanGet(runner, names.slice(i, i + NAMES_PER_GET), { ...options, rootsOnly: true, missingRootsOk: true });
  }
}

/** What a `zfs get` listing reads beyond ScanTreeOptions: OpenZFS's `-t`, and its own columns. */
export interface GetListingOptions extends ScanTreeOptions {
  /** `zfs get -t` (OpenZFS; old zfs has no `-t`). */
  readonly types?: string;
  /** The properties of each object (default: what old zfs has of a listing's columns). */
  readonly columns?: readonly string[];
}

const OLD_ZFS_COLUMNS = ["type", "guid", "createtxg", "creation", "referenced"];

/** Each object's lines of `zfs get -H -p -r -o name,property,value,source`, gathered; in batches as scanTree. */
export async function* scanGet(runner: ZfsRunner, roots: readonly DatasetName[], options: GetListingOptions): AsyncGenerator<readonly TreeRecord[], void, undefined> {
  const extra = (options.properties ?? []).filter((p) => p !== PLACEHOLDER_PROPERTY);
  const props = [...(options.columns ?? OLD_ZFS_COLUMNS), ...extra, ...(options.placeholders || extra.length ? [PLACEHOLDER_PROPERTY] : [])];
  const types = options.types ? ["-t", options.types] : [];
  const argv = ["get", "-H", "-p", ...depthArgs(roots, options, true), ...types, "-o", "name,property,value,source", props.join(","), ...roots];
  const keep = datasetFilter(roots, options);
  let current: string | null = null;
  let values = new Map<string, { value: string; source: string }>();
  const intern = interner();
  let index = 0;
  /** The object gathered so far, or null where this listing leaves it out. */
  const flush = (): TreeRecord | null => {
    const record = parseOrThrow(argv, current!, index, (): TreeRecord => {
      const got = values;
      const record = makeRecord(current!, (p) => got.get(p)?.value, intern);
      if (record.kind !== "dataset") return record;
      const mark = got.get(PLACEHOLDER_PROPERTY);
      const placeholder = (options.placeholders ?? false) && isPlaceholderMark(mark);
      return { kind: "dataset", dataset: { ...record.dataset, placeholder, ...(options.properties ? { properties: got } : {}) } };
    });
    return (record.kind === "dataset" ? keep(record.dataset.name) : options.versions !== false) ? record : null;
  };
  for await (const lines of listingLines(runner, argv, roots, options)) {
    const batch: TreeRecord[] = [];
    for (const line of lines) {
      const [name, property, value, source] = parseOrThrow(argv, line, index++, () => tabFields(line, 4)) as [string, string, string, string];
      if (name !== current) {
        const record = current === null ? null : flush();
        if (record) batch.push(record);
        current = name;
        values = new Map();
      }
      values.set(property, { value, source });
    }
    if (batch.length > 0) yield batch;
  }
  const last = current === null ? null : flush();
  if (last) yield [last];
}
