/**
 * The lines of a tree's `zfs list -H -p` (tree-listing.ts), parsed as fast as they come: a wide
 * listing has hundreds of thousands, nearly all versions of the dataset printed just before them.
 * Such a version reuses that dataset's checked name and has only its short name checked; every
 * other line takes the general path (makeRecord), which checks the whole name. Both accept and
 * refuse the same lines.
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
  let dataset: DatasetName | null = null;
  return (line) => {
    const fields = tabFields(line, columns.length);
    const name = fields[0]!;
    const kind = fields[type];
    const sep = dataset === null ? -1 : dataset.length;
    const mark = kind === "snapshot" ? "@" : kind === "bookmark" ? "#" : null;
    if (mark === null || guid < 0 || createtxg < 0 || creation < 0 || name[sep] !== mark || !name.startsWith(dataset!) || name.length > MAX_NAME_LENGTH) {
      const record = makeRecord(name, (column) => (index.has(column) ? fields[index.get(column)!] : undefined), intern);
      if (record.kind === "dataset") dataset = record.dataset.name;
      return record;
    }
    const short = parseVersionShortName(name.slice(sep + 1), kind as VersionKind);
    const size = (i: number): number | null => (i < 0 || fields[i] === "-" ? null : parseApproxBytes(fields[i]!, columns[i]!));
    return {
      kind: "version",
      dataset: dataset!,
      version: {
        kind: kind as VersionKind,
        name: intern(short) as typeof short,
        guid: parseUint64(fields[guid]!, "guid"),
        createtxg: parseUint64(fields[createtxg]!, "createtxg"),
        creation: exactSeconds(fields[creation]!),
        referenced: kind === "bookmark" ? null : size(referenced),
        written: size(written),
      },
    };
  };
}

// --- internal ---

const SHORT_UINT = /^[0-9]{1,15}$/;

/** A uint64 as a number, as makeRecord reads `creation`: exact, or a RangeError. */
function exactSeconds(text: string): number {
  if (SHORT_UINT.test(text)) return Number(text);
  const value = parseUint64(text, "creation");
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`creation ${value} is out of range`);
  return Number(value);
}
