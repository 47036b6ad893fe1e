/**
 * A tree's `zfs list -H -p` (tree-listing.ts) read as bytes. A wide listing is nearly all
 * versions, each printed right after its dataset; those go straight into columns
 * (packed-versions.ts), without a string per field, a record or a bigint each: decoding,
 * splitting and parsing them one by one was most of what planning ten thousand filesystems cost.
 *
 * Every other line (a dataset, a version not right after its dataset, anything this reading does
 * not take as it is) is decoded and read whole by makeRecord, which checks every name and says
 * what is wrong with a line it refuses. Both take the same lines, to the same values.
 */
import { parseOrThrow, tabFields } from "./_parse.ts";
import { makeRecord } from "./_tree-record.ts";
import { MAX_NAME_LENGTH, type DatasetName, type VersionShortName } from "./names.ts";
import { LITTLE_ENDIAN, sliceColumns, type VersionColumns } from "./packed-versions.ts";
import type { TreeRecord } from "./tree-types.ts";

/** Reads a listing chunk by chunk, as zfs prints it. */
export interface ListingScanner {
  /** The records of the lines `chunk` completes, in order; a line cut at its end waits for the next. */
  push(chunk: Uint8Array): TreeRecord[];
  /** The record of a last line that has no newline. */
  end(): TreeRecord[];
}

/**
 * A scanner of the listing `argv` printed, for `columns` (name first) as `-o` asked for them.
 * @throws ZfsError (from push or end) naming the line zfs printed that is not what was asked
 */
export function listingScanner(argv: readonly string[], columns: readonly string[], intern: (s: string) => string): ListingScanner {
  const at = new Map(columns.map((c, i) => [c, i]));
  const parseLine = (line: string): TreeRecord => {
    const values = tabFields(line, columns.length);
    return makeRecord(values[0]!, (column) => {
      const i = at.get(column);
      return i === undefined ? undefined : values[i];
    }, intern);
  };
  const fields = columns.map((c) => FIELDS[c] ?? Field.Other);
  const fast = ["type", "guid", "createtxg", "creation"].every((c) => columns.indexOf(c) > 0);
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let index = 0;
  let rest: Uint8Array | null = null;
  /** The dataset listed last, whose versions may follow. */
  let dataset: { name: DatasetName; bytes: Uint8Array } | null = null;
  /** Its versions' short names so far, by position: the next dataset's versions mostly have the same ones. */
  let position = 0;
  const names: VersionShortName[] = [];

  /** One output's columns (one chunk's lines at most), and the records made so far. */
  let out: ChunkColumns;
  let records: TreeRecord[];
  let runStart = 0;
  const closeRun = (): void => {
    if (out.length > runStart) records.push({ kind: "versions", dataset: dataset!.name, columns: out.view(runStart, out.length) });
    runStart = out.length;
  };

  const slow = (buf: Uint8Array, start: number, end: number): void => {
    closeRun();
    const line = decoder.decode(buf.subarray(start, end));
    const record = parseOrThrow(argv, line, index, () => parseLine(line));
    records.push(record);
    if (record.kind === "dataset") {
      dataset = { name: record.dataset.name, bytes: encoder.encode(record.dataset.name) };
      position = 0;
    }
  };

  /** Reads one line (`buf` from `start` to before `end`, without its newline) into `out`, or hands it to `slow`. */
  const line = (buf: Uint8Array, start: number, end: number): void => {
    if (!fast || dataset === null || !readVersion(buf, start, end)) slow(buf, start, end);
    index++;
  };

  /** A version of `dataset` into the next row of `out`; false, with nothing kept, for a line to read the slow way. */
  const readVersion = (buf: Uint8Array, start: number, end: number): boolean => {
    const own = dataset!.bytes;
    const sep = start + own.length;
    if (sep >= end) return false;
    for (let k = 0; k < own.length; k++) if (buf[start + k] !== own[k]) return false;
    const mark = buf[sep];
    const bookmark = mark === HASH ? 1 : mark === AT ? 0 : -1;
    if (bookmark < 0) return false;
    let at = sep + 1;
    while (at < end && buf[at] !== TAB) if (NAME_BYTE[buf[at++]!] === 0) return false;
    const nameEnd = at;
    if (nameEnd === sep + 1 || nameEnd - start > MAX_NAME_LENGTH || at >= end) return false;
    const row = out.length;
    for (let i = 1; i < fields.length; i++) {
      const from = ++at;
      while (at < end && buf[at] !== TAB) at++;
      if ((at === end) !== (i === fields.length - 1)) return false; // another number of fields
      const field = fields[i]!;
      if (field === Field.Type) {
        if (!isText(buf, from, at, bookmark === 1 ? BOOKMARK : SNAPSHOT)) return false;
      } else if (field === Field.Guid || field === Field.Createtxg) {
        if (!readUint64(buf, from, at, field === Field.Guid ? out.guid32 : out.createtxg32, row)) return false;
      } else if (field === Field.Creation) {
        const value = readShortUint(buf, from, at);
        if (Number.isNaN(value)) return false;
        out.creation[row] = value;
      } else if (field === Field.Referenced && bookmark === 1) {
        out.referenced[row] = Number.NaN; // a bookmark has none, whatever zfs prints for it
      } else if (field === Field.Referenced || field === Field.Written) {
        let size = Number.NaN;
        if (!isText(buf, from, at, DASH) && Number.isNaN((size = readShortUint(buf, from, at)))) return false;
        (field === Field.Referenced ? out.referenced : out.written)[row] = size;
      }
    }
    out.bookmark[row] = bookmark;
    out.names[row] = shortName(buf, sep + 1, nameEnd);
    out.length++;
    return true;
  };

  /**
   * The short name at `buf[start, end)`, checked ASCII (NAME_BYTE): the string the dataset before
   * had at the same position when it is the same, else an interned one.
   */
  const shortName = (buf: Uint8Array, start: number, end: number): VersionShortName => {
    const known = names[position];
    if (known !== undefined && known.length === end - start) {
      let same = true;
      for (let k = 0; k < known.length && same; k++) same = known.charCodeAt(k) === buf[start + k];
      if (same) {
        position++;
        return known;
      }
    }
    const name = intern(decoder.decode(buf.subarray(start, end))) as VersionShortName;
    names[position++] = name;
    return name;
  };

  const begin = (lines: number): void => {
    out = new ChunkColumns(lines);
    records = [];
    runStart = 0;
  };
  const finish = (): TreeRecord[] => {
    closeRun();
    const done = records;
    records = [];
    return done;
  };

  return {
    push(chunk) {
      if (chunk.length === 0) return [];
      let lines = 0;
      for (let at = chunk.indexOf(NL); at >= 0; at = chunk.indexOf(NL, at + 1)) lines++;
      if (lines === 0) {
        rest = rest ? Buffer.concat([rest, chunk]) : chunk.slice();
        return [];
      }
      begin(lines);
      let start = 0;
      let nl = chunk.indexOf(NL);
      if (rest) {
        const joined = Buffer.concat([rest, chunk.subarray(0, nl)]);
        rest = null;
        line(joined, 0, joined.length);
        start = nl + 1;
        nl = chunk.indexOf(NL, start);
      }
      for (; nl >= 0; start = nl + 1, nl = chunk.indexOf(NL, start)) line(chunk, start, nl);
      if (start < chunk.length) rest = chunk.slice(start);
      return finish();
    },
    end() {
      if (!rest) return [];
      begin(1);
      const last = rest;
      rest = null;
      line(last, 0, last.length);
      return finish();
    },
  };
}

/** The records of a listing's output, chunk by chunk (never the whole listing); errors as listingScanner. */
export async function* scanListing(chunks: AsyncIterable<Uint8Array>, argv: readonly string[], columns: readonly string[], intern: (s: string) => string): AsyncGenerator<TreeRecord[], void, undefined> {
  const scanner = listingScanner(argv, columns, intern);
  for await (const chunk of chunks) yield scanner.push(chunk);
  yield scanner.end();
}

// --- internal ---

const NL = 0x0a;
const TAB = 0x09;
const AT = 0x40;
const HASH = 0x23;
const SNAPSHOT = new TextEncoder().encode("snapshot");
const BOOKMARK = new TextEncoder().encode("bookmark");
const DASH = new TextEncoder().encode("-");

/** 1 for a byte a short name may have as names.ts checks it (`[A-Za-z0-9_.: -]`); anything else goes the slow way. */
const NAME_BYTE = new Uint8Array(256);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.: -") NAME_BYTE[c.charCodeAt(0)] = 1;

/** What a column is to readVersion. */
const Field = { Other: 0, Type: 1, Guid: 2, Createtxg: 3, Creation: 4, Referenced: 5, Written: 6 } as const;
type Field = (typeof Field)[keyof typeof Field];

const FIELDS: Readonly<Record<string, Field>> = { type: Field.Type, guid: Field.Guid, createtxg: Field.Createtxg, creation: Field.Creation, referenced: Field.Referenced, written: Field.Written };

/** Whether `buf[start, end)` is exactly `text`. */
function isText(buf: Uint8Array, start: number, end: number, text: Uint8Array): boolean {
  if (end - start !== text.length) return false;
  for (let k = 0; k < text.length; k++) if (buf[start + k] !== text[k]) return false;
  return true;
}

const TWO_32 = 2 ** 32;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = 1 - LO;

/**
 * Decimal digits (1 to 20, as parseUint64 takes them) into row `row` of a uint64 column seen as
 * 32-bit halves, carried digit by digit: no bigint. False for anything else, or beyond 64 bits.
 */
function readUint64(buf: Uint8Array, start: number, end: number, column: Uint32Array, row: number): boolean {
  if (end === start || end - start > 20) return false;
  let lo = 0;
  let hi = 0;
  for (let k = start; k < end; k++) {
    const digit = buf[k]! - 0x30;
    if (digit < 0 || digit > 9) return false;
    lo = lo * 10 + digit;
    const carry = Math.floor(lo / TWO_32);
    lo -= carry * TWO_32;
    hi = hi * 10 + carry;
    if (hi >= TWO_32) return false;
  }
  column[2 * row + LO] = lo;
  column[2 * row + HI] = hi;
  return true;
}

/** Up to 15 decimal digits (below 2^53: exact) as a number; NaN for anything else, left to the slow way. */
function readShortUint(buf: Uint8Array, start: number, end: number): number {
  if (end === start || end - start > 15) return Number.NaN;
  let value = 0;
  for (let k = start; k < end; k++) {
    const digit = buf[k]! - 0x30;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return value;
}

/** The columns of one chunk's versions; each run of one dataset's is a view of some of its rows. */
class ChunkColumns implements VersionColumns {
  length = 0;
  readonly bookmark: Uint8Array;
  readonly names: VersionShortName[] = [];
  readonly guid: BigUint64Array;
  readonly createtxg: BigUint64Array;
  /** guid and createtxg as 32-bit halves, written without a bigint. */
  readonly guid32: Uint32Array;
  readonly createtxg32: Uint32Array;
  readonly creation: Float64Array;
  readonly referenced: Float64Array;
  readonly written: Float64Array;

  constructor(capacity: number) {
    this.bookmark = new Uint8Array(capacity);
    this.guid = new BigUint64Array(capacity);
    this.createtxg = new BigUint64Array(capacity);
    this.guid32 = new Uint32Array(this.guid.buffer);
    this.createtxg32 = new Uint32Array(this.createtxg.buffer);
    this.creation = new Float64Array(capacity);
    this.referenced = new Float64Array(capacity).fill(Number.NaN);
    this.written = new Float64Array(capacity).fill(Number.NaN);
  }

  view(start: number, end: number): VersionColumns {
    return sliceColumns(this, start, end);
  }
}
