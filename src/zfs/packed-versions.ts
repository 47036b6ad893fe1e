/**
 * Datasets' snapshots and bookmarks, oldest first, packed in columns. As objects, a version of a
 * wide listing costs some 300 bytes (an object, its name's object and string, two bigints); a
 * listing of 10 000 filesystems × 30 snapshots per side would hold some 100 MB each. In columns it
 * is some 50 bytes: one byte for its kind, a pointer to its interned short name, and six 8-byte
 * numbers.
 *
 * A version read from the list is built anew each time (`view`): whoever keeps one keeps only it,
 * and the planner, which reads every version of every filesystem once, leaves garbage behind,
 * not a second copy of the tree.
 */
import type { VersionKind, VersionShortName } from "./names.ts";

/**
 * What code reads of a dataset's versions, oldest first: an array satisfies it, and so does the
 * packed list a listing builds.
 */
export interface VersionList<T> extends Iterable<T> {
  readonly length: number;
  /** Negative indices count from the end, as Array.prototype.at. */
  at(index: number): T | undefined;
  map<U>(fn: (version: T, index: number) => U): U[];
  find(predicate: (version: T) => boolean): T | undefined;
  some(predicate: (version: T) => boolean): boolean;
}

/** One version as the listing gave it; a null size is one zfs does not have. */
export interface VersionRow {
  readonly kind: VersionKind;
  readonly name: VersionShortName;
  readonly guid: bigint;
  readonly createtxg: bigint;
  readonly creation: number;
  readonly referenced: number | null;
  readonly written: number | null;
}

/**
 * Versions in columns, one item per version: a dataset's as a peer sent them, or a block of a
 * VersionTable, where each dataset's are a range of rows.
 */
export interface VersionColumns {
  /** 1 for a bookmark, 0 for a snapshot. */
  readonly bookmark: Uint8Array;
  readonly names: readonly VersionShortName[];
  readonly guid: BigUint64Array;
  readonly createtxg: BigUint64Array;
  readonly creation: Float64Array;
  /** NaN where zfs has no size. */
  readonly referenced: Float64Array;
  readonly written: Float64Array;
}

/** Reads row `index` of a dataset's columns as the caller's type. */
export type VersionView<T> = (columns: VersionColumns, index: number, dataset: string) => T;

/**
 * The versions of every dataset of one listing, one after the other in blocks of shared columns:
 * a dataset's are a range of one block's rows. Columns of their own per dataset would cost eight
 * objects each and as many small allocations, some 300 bytes a dataset; columns grown by copying
 * would allocate twice the listing on the way. A block is filled once and never copied.
 */
export class VersionTable {
  #block: VersionBlock | null = null;

  /** Appends `builder`'s versions, sorted, as the list of `dataset`; the builder is empty after. */
  append<T>(builder: VersionColumnsBuilder, dataset: string, view: VersionView<T>): PackedVersions<T> {
    const sorted = builder.takeSorted();
    const n = sorted.columns ? sorted.columns.reduce((sum, c) => sum + c.bookmark.length, 0) : sorted.rows.length;
    if (!this.#block || this.#block.free < n) this.#block = new VersionBlock(Math.max(BLOCK_ROWS, n));
    const block = this.#block;
    const start = block.length;
    if (sorted.columns) for (const c of sorted.columns) block.appendColumns(c);
    else block.appendRows(sorted.rows);
    return new PackedVersions(block, start, n, dataset, view);
  }
}

/** Rows per block: some 2.6 MB of columns, a few blocks for a wide listing, little left unused. */
const BLOCK_ROWS = 1 << 16;

/** Fixed columns, filled from the start. */
class VersionBlock implements VersionColumns {
  length = 0;
  readonly bookmark: Uint8Array;
  readonly names: VersionShortName[];
  readonly guid: BigUint64Array;
  readonly createtxg: BigUint64Array;
  readonly creation: Float64Array;
  readonly referenced: Float64Array;
  readonly written: Float64Array;

  constructor(capacity: number) {
    this.bookmark = new Uint8Array(capacity);
    this.names = [];
    this.guid = new BigUint64Array(capacity);
    this.createtxg = new BigUint64Array(capacity);
    this.creation = new Float64Array(capacity);
    this.referenced = new Float64Array(capacity);
    this.written = new Float64Array(capacity);
  }

  get free(): number {
    return this.bookmark.length - this.length;
  }

  appendRows(rows: readonly VersionRow[]): void {
    for (const r of rows) {
      const i = this.length++;
      this.bookmark[i] = r.kind === "bookmark" ? 1 : 0;
      this.names.push(r.name);
      this.guid[i] = r.guid;
      this.createtxg[i] = r.createtxg;
      this.creation[i] = r.creation;
      this.referenced[i] = r.referenced ?? Number.NaN;
      this.written[i] = r.written ?? Number.NaN;
    }
  }

  appendColumns(c: VersionColumns): void {
    const at = this.length;
    this.bookmark.set(c.bookmark, at);
    for (const name of c.names) this.names.push(name);
    this.guid.set(c.guid, at);
    this.createtxg.set(c.createtxg, at);
    this.creation.set(c.creation, at);
    this.referenced.set(c.referenced, at);
    this.written.set(c.written, at);
    this.length += c.bookmark.length;
  }
}

/** The versions of one dataset: a range of a table's rows, each read as `view` builds it. */
export class PackedVersions<T> implements VersionList<T> {
  readonly #table: VersionColumns;
  readonly #start: number;
  readonly #length: number;
  readonly #dataset: string;
  readonly #view: VersionView<T>;

  /** `view` is shared by every dataset of a listing (one function, not one per dataset). */
  constructor(table: VersionColumns, start: number, length: number, dataset: string, view: VersionView<T>) {
    this.#table = table;
    this.#start = start;
    this.#length = length;
    this.#dataset = dataset;
    this.#view = view;
  }

  get length(): number {
    return this.#length;
  }

  at(index: number): T | undefined {
    const i = index < 0 ? this.#length + index : index;
    return i >= 0 && i < this.#length ? this.#read(i) : undefined;
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.#length; i++) yield this.#read(i);
  }

  map<U>(fn: (version: T, index: number) => U): U[] {
    const out: U[] = new Array(this.#length);
    for (let i = 0; i < this.#length; i++) out[i] = fn(this.#read(i), i);
    return out;
  }

  find(predicate: (version: T) => boolean): T | undefined {
    for (let i = 0; i < this.#length; i++) {
      const v = this.#read(i);
      if (predicate(v)) return v;
    }
    return undefined;
  }

  some(predicate: (version: T) => boolean): boolean {
    return this.find(predicate) !== undefined;
  }

  /** Every version as a plain row: what a planner reads, without the view's names and objects. */
  rows(): VersionRow[] {
    const out: VersionRow[] = new Array(this.#length);
    for (let i = 0; i < this.#length; i++) out[i] = rowAt(this.#table, this.#start + i);
    return out;
  }

  #read(i: number): T {
    return this.#view(this.#table, this.#start + i, this.#dataset);
  }
}

/**
 * Collects one dataset's versions in any order, as rows or as columns a peer sent, until a
 * VersionTable takes them sorted. Columns that come alone and sorted (as zfs lists them) are
 * taken as they are.
 */
export class VersionColumnsBuilder {
  #rows: VersionRow[] = [];
  #chunks: VersionColumns[] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(row: VersionRow): void {
    this.#rows.push(row);
    this.#size++;
  }

  pushColumns(columns: VersionColumns): void {
    this.#chunks.push(columns);
    this.#size += columns.bookmark.length;
  }

  /**
   * Oldest first by createtxg; a bookmark before the snapshot of the same txg, then by name (as
   * zfs/_parse.ts compareVersions): the columns as they came when they are in that order (as zfs
   * lists them), else rows.
   */
  takeSorted(): { readonly columns: readonly VersionColumns[]; readonly rows?: undefined } | { readonly columns?: undefined; readonly rows: VersionRow[] } {
    const chunks = this.#chunks.filter((c) => c.bookmark.length > 0);
    const rows = this.#rows;
    this.#rows = [];
    this.#chunks = [];
    this.#size = 0;
    if (rows.length === 0 && inOrder(chunks)) return { columns: chunks };
    for (const chunk of chunks) for (let i = 0; i < chunk.bookmark.length; i++) rows.push(rowAt(chunk, i));
    return { rows: rows.sort(compareRows) };
  }
}

/** Columns and rows one after the other, copied into columns of their own. */
export function joinColumns(pieces: readonly (VersionColumns | VersionRow)[]): VersionColumns {
  const block = new VersionBlock(pieces.reduce((sum, p) => sum + ("bookmark" in p ? p.bookmark.length : 1), 0));
  for (const p of pieces) {
    if ("bookmark" in p) block.appendColumns(p);
    else block.appendRows([p]);
  }
  return block;
}

/** Rows `start` to before `end` of `columns`: views, nothing copied. */
export function sliceColumns(columns: VersionColumns, start: number, end: number): VersionColumns {
  return {
    bookmark: columns.bookmark.subarray(start, end),
    names: columns.names.slice(start, end),
    guid: columns.guid.subarray(start, end),
    createtxg: columns.createtxg.subarray(start, end),
    creation: columns.creation.subarray(start, end),
    referenced: columns.referenced.subarray(start, end),
    written: columns.written.subarray(start, end),
  };
}

/** Row `i` of `columns` as a VersionRow. */
export function rowAt(columns: VersionColumns, i: number): VersionRow {
  const size = (n: number) => (Number.isNaN(n) ? null : n);
  return {
    kind: columns.bookmark[i] === 1 ? "bookmark" : "snapshot",
    name: columns.names[i]!,
    guid: columns.guid[i]!,
    createtxg: columns.createtxg[i]!,
    creation: columns.creation[i]!,
    referenced: size(columns.referenced[i]!),
    written: size(columns.written[i]!),
  };
}

/** Whether `chunks`, one after the other, are in pack's order. */
function inOrder(chunks: readonly VersionColumns[]): boolean {
  for (let k = 0; k < chunks.length; k++) {
    if (!isSorted(chunks[k]!)) return false;
    if (k > 0 && compareRows(rowAt(chunks[k - 1]!, chunks[k - 1]!.bookmark.length - 1), rowAt(chunks[k]!, 0)) > 0) return false;
  }
  return true;
}

/** Whether `columns` are in pack's order; reads createtxg in 32-bit halves, so it builds no bigint. */
function isSorted(columns: VersionColumns): boolean {
  const txg = new Uint32Array(columns.createtxg.buffer, columns.createtxg.byteOffset, columns.createtxg.length * 2);
  const hi = LITTLE_ENDIAN ? 1 : 0;
  for (let i = 1; i < columns.bookmark.length; i++) {
    const a = txg[2 * (i - 1) + hi]! * 2 ** 32 + txg[2 * (i - 1) + 1 - hi]!;
    const b = txg[2 * i + hi]! * 2 ** 32 + txg[2 * i + 1 - hi]!;
    // Beyond 2^53 the halves no longer add up exactly: such a txg is left to the sort.
    if (b > Number.MAX_SAFE_INTEGER || a > b) return false;
    if (a !== b) continue;
    const [ka, kb] = [columns.bookmark[i - 1]!, columns.bookmark[i]!];
    if (ka !== kb ? ka < kb : columns.names[i - 1]! > columns.names[i]!) return false;
  }
  return true;
}

/** This host stores numbers least significant byte first (x86, arm64 as Linux runs it). */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function compareRows(a: VersionRow, b: VersionRow): number {
  if (a.createtxg !== b.createtxg) return a.createtxg < b.createtxg ? -1 : 1;
  if (a.kind !== b.kind) return a.kind === "bookmark" ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
