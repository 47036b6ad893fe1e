/**
 * list_tree's column entries (`columns: true`): up to TREE_COLUMN_VERSIONS versions of one dataset
 * in one entry, each field a column. A version as a CBOR map repeats eight keys and its dataset's
 * name, which both sides encode and decode as text; a listing of 300 000 snapshots spent most of
 * its time there. GUIDs and createtxgs travel as little-endian uint64 byte strings, which the
 * client keeps as they arrive (zfs/packed-versions.ts). docs/protocol.md § Record streams.
 */
import { ValidationError, schema, type CborWriter, type Parser } from "../rpc/index.ts";
import { LITTLE_ENDIAN, joinColumns, type VersionColumns, type VersionRow, type VersionShortName } from "../zfs/index.ts";

/** Most versions one column entry holds: with names of 255 bytes, some 600 KiB, below a record's 1 MiB. */
export const TREE_COLUMN_VERSIONS = 2048;

/** A column entry as the client reads it: its dataset, and its versions as columns (in the order sent). */
export interface TreeColumnsEntry {
  readonly type: "versions";
  readonly dataset: string;
  readonly columns: VersionColumns;
}

/**
 * Writes the column entry of `dataset`'s versions `pieces` (at most TREE_COLUMN_VERSIONS, as zfs
 * listed them: columns as a listing read them, or rows, in that order) straight from their
 * columns: the map docs/protocol.md § Record streams describes, in the bytes encodeCbor would
 * write of it (the tests compare them), without building that map or its arrays of numbers (a
 * listing of 300 000 snapshots has them by the hundred thousand).
 * @throws TypeError for a creation or size that is not a non-negative integer
 */
export function writeColumnsEntry(w: CborWriter, dataset: string, pieces: readonly (VersionColumns | VersionRow)[]): void {
  const c = pieces.length === 1 && "bookmark" in pieces[0]! ? pieces[0] : joinColumns(pieces);
  const n = c.bookmark.length;
  const sized = c.referenced.some((v) => !Number.isNaN(v)) || c.written.some((v) => !Number.isNaN(v));
  w.mapHeader(sized ? 9 : 7);
  w.text("type");
  w.text("versions");
  w.text("dataset");
  w.text(dataset);
  w.text("kinds");
  w.bytes(c.bookmark);
  w.text("names");
  w.arrayHeader(n);
  for (let i = 0; i < n; i++) w.text(c.names[i]!);
  w.text("guids");
  w.bytes(u64Bytes(c.guid));
  w.text("createtxgs");
  w.bytes(u64Bytes(c.createtxg));
  w.text("creations");
  w.arrayHeader(n);
  for (let i = 0; i < n; i++) w.uint(c.creation[i]!);
  if (!sized) return;
  for (const [key, column] of [["referenced", c.referenced], ["written", c.written]] as const) {
    w.text(key);
    w.arrayHeader(n);
    for (let i = 0; i < n; i++) {
      const size = column[i]!;
      if (Number.isNaN(size)) w.null();
      else w.uint(size);
    }
  }
}

/**
 * Checks a column entry: every column as long as `kinds`, kinds 0 (snapshot) or 1 (bookmark),
 * GUIDs and createtxgs 8 bytes each.
 */
export const treeColumnsEntry: Parser<TreeColumnsEntry> = (v, path) => {
  const e = wireShape(v, path);
  const n = e.kinds.length;
  const column = (name: string, length: number, per = 1) => {
    if (length !== n * per) throw new ValidationError(`${path}.${name}`, `expected ${n * per} ${per === 1 ? "items" : "bytes"} for ${n} versions, got ${length}`);
  };
  column("names", e.names.length);
  column("guids", e.guids.length, 8);
  column("createtxgs", e.createtxgs.length, 8);
  column("creations", e.creations.length);
  column("referenced", (e.referenced ?? e.names).length);
  column("written", (e.written ?? e.names).length);
  const bookmark = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (e.kinds[i]! > 1) throw new ValidationError(`${path}.kinds[${i}]`, `expected 0 (snapshot) or 1 (bookmark), got ${e.kinds[i]}`);
    bookmark[i] = e.kinds[i]!;
  }
  const sizes = (values: readonly (number | undefined)[] | undefined): Float64Array => {
    const out = new Float64Array(n).fill(Number.NaN);
    if (values) for (let i = 0; i < n; i++) out[i] = values[i] ?? Number.NaN;
    return out;
  };
  return {
    type: "versions",
    dataset: e.dataset,
    columns: {
      bookmark,
      names: e.names as VersionShortName[],
      guid: u64Column(e.guids),
      createtxg: u64Column(e.createtxgs),
      creation: Float64Array.from(e.creations),
      referenced: sizes(e.referenced),
      written: sizes(e.written),
    },
  };
};

// --- internal ---

const bytes = (max: number): Parser<Uint8Array> => (v, path) => {
  if (!(v instanceof Uint8Array)) throw new ValidationError(path, `expected a byte string, got ${v === null ? "null" : Array.isArray(v) ? "an array" : typeof v}`);
  if (v.length > max) throw new ValidationError(path, `longer than ${max} bytes`);
  return v;
};

const sizeList = schema.optional(schema.array(schema.optional(schema.approxBytes), { max: TREE_COLUMN_VERSIONS }));

const wireShape = schema.object({
  type: schema.literal("versions"),
  dataset: schema.string({ max: 255 }),
  kinds: bytes(TREE_COLUMN_VERSIONS),
  names: schema.array(schema.string({ min: 1, max: 255 }), { max: TREE_COLUMN_VERSIONS }),
  guids: bytes(8 * TREE_COLUMN_VERSIONS),
  createtxgs: bytes(8 * TREE_COLUMN_VERSIONS),
  creations: schema.array(schema.uint, { max: TREE_COLUMN_VERSIONS }),
  referenced: sizeList,
  written: sizeList,
});

/** uint64s as little-endian bytes, whatever the host's order. */
function u64Bytes(values: BigUint64Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setBigUint64(i * 8, v, true));
  return out;
}

/** Little-endian bytes (a multiple of 8) as uint64s; one copy, no bigint each on a little-endian host. */
function u64Column(bytes: Uint8Array): BigUint64Array {
  const out = new BigUint64Array(bytes.length / 8);
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes);
  else for (let i = 0; i < out.length; i++) out[i] = new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(i * 8, true);
  return out;
}
