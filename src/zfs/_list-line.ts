/**
 * A line of a tree's `zfs list -H -p` as a record: the lines the byte scanner (_list-scan.ts) does
 * not read into columns itself, datasets above all, and what it refuses (this says why). A version
 * of the dataset printed just before it reuses that dataset's checked name and has only its short
 * name checked; every other line takes the general path (makeRecord), which checks the whole name.
 * Both accept and refuse the same lines.
 */
import { parseApproxBytes, parseUint64, tabFields } from "./_parse.ts";
import { makeRecord } from "./_tree-record.ts";
import { MAX_NAME_LENGTH, parseVersionShortName, type DatasetName, type VersionKind } from "./names.ts";
import type { TreeRecord } from "./tree-types.ts";

/** A parser of one listing's lines, for `columns` (name first) as `-o` asked for them. */
export function listLineParser(columns: readonly string[], intern: (s: string) => string): (line: string) => TreeRecord {
  const index = new Map(columns.map((c, i) => [c, i]));
  const at = (column: string): number => index.get(column) ?? -1;
  const [type, guid, createtxg, creation, referenced, written] = ["type", "guid", "createtxg", "creation", "referenced", "written"].map(at) as [number, number, number, number, number, number];
  const fast = type > 0 && guid > 0 && createtxg > 0 && creation > 0;
  // Where each field starts, and one past the end of the last: found with indexOf, so that a
  // version's line is cut into the few strings it needs, not into all of its fields.
  const starts = new Int32Array(columns.length + 1);
  const field = (line: string, i: number): string => line.slice(starts[i]!, starts[i + 1]! - 1);
  let dataset: DatasetName | null = null;
  const general = (line: string): TreeRecord => {
    const fields = tabFields(line, columns.length);
    const record = makeRecord(fields[0]!, (column) => (index.has(column) ? fields[index.get(column)!] : undefined), intern);
    if (record.kind === "dataset") dataset = record.dataset.name;
    return record;
  };
  return (line) => {
    if (!fast || dataset === null || !cut(line, starts)) return general(line);
    const kind = isField(line, starts, type, "snapshot") ? "snapshot" : isField(line, starts, type, "bookmark") ? "bookmark" : null;
    const sep = dataset.length;
    const nameEnd = starts[1]! - 1;
    if (kind === null || sep >= nameEnd || nameEnd > MAX_NAME_LENGTH || line.charCodeAt(sep) !== (kind === "snapshot" ? AT : HASH) || !line.startsWith(dataset)) return general(line);
    const short = parseVersionShortName(line.slice(sep + 1, nameEnd), kind);
    const size = (i: number): number | null => (i < 0 || isField(line, starts, i, "-") ? null : parseApproxBytes(field(line, i), columns[i]!));
    return {
      kind: "version",
      dataset,
      version: {
        kind,
        name: intern(short) as typeof short,
        guid: parseUint64(field(line, guid), "guid"),
        createtxg: parseUint64(field(line, createtxg), "createtxg"),
        creation: exactSeconds(field(line, creation)),
        referenced: kind === "bookmark" ? null : size(referenced),
        written: size(written),
      },
    };
  };
}

// --- internal ---

const AT = "@".charCodeAt(0);
const HASH = "#".charCodeAt(0);

/** Fills `starts` with where each of the line's fields starts; false when it has another number of fields. */
function cut(line: string, starts: Int32Array): boolean {
  const count = starts.length - 1;
  let at = -1;
  starts[0] = 0;
  for (let i = 1; i < count; i++) {
    at = line.indexOf("\t", at + 1);
    if (at < 0) return false;
    starts[i] = at + 1;
  }
  if (line.indexOf("\t", at + 1) >= 0) return false;
  starts[count] = line.length + 1;
  return true;
}

/** Whether field `i` of the line is exactly `text`. */
function isField(line: string, starts: Int32Array, i: number, text: string): boolean {
  return starts[i + 1]! - 1 - starts[i]! === text.length && line.startsWith(text, starts[i]!);
}

const SHORT_UINT = /^[0-9]{1,15}$/;

/** A uint64 as a number, as makeRecord reads `creation`: exact, or a RangeError. */
function exactSeconds(text: string): number {
  if (SHORT_UINT.test(text)) return Number(text);
  const value = parseUint64(text, "creation");
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`creation ${value} is out of range`);
  return Number(value);
}
