import { describe, expect, test } from "bun:test";
import { CborWriter, decodeCbor, encodeCbor, ValidationError } from "../rpc/index.ts";
import { joinColumns, rowAt, sliceColumns, type VersionRow, type VersionShortName } from "../zfs/index.ts";
import { columnsEntryMap } from "../../test/helpers/wire-records.ts";
import { treeColumnsEntry, TREE_COLUMN_VERSIONS, writeColumnsEntry } from "./tree-columns.ts";
import { treeRecord } from "./protocol.ts";

const row = (name: string, txg: bigint, extra: Partial<VersionRow> = {}): VersionRow => ({
  kind: "snapshot",
  name: name as VersionShortName,
  guid: 0xfedc_ba98_7654_3210n + txg,
  createtxg: txg,
  creation: 1_700_000_000 + Number(txg % 1000n),
  referenced: 4096,
  written: 512,
  ...extra,
});

/** Through CBOR as the wire carries it, then checked as a client checks it. */
function roundTrip(entry: Record<string, unknown>) {
  return treeColumnsEntry(decodeCbor(encodeCbor(entry), "test"), "entry");
}

function rowsOf(columns: ReturnType<typeof treeColumnsEntry>["columns"]): VersionRow[] {
  return Array.from(columns.bookmark, (_, i) => rowAt(columns, i));
}

describe("list_tree column entries", () => {
  test("carry every field of every version exactly, 64-bit GUIDs and txgs included", () => {
    const rows = [row("s1", 5n), row("b1", 5n, { kind: "bookmark", referenced: null, written: null }), row("s2", 0xffff_ffff_ffff_fff0n, { guid: 0xffff_ffff_ffff_ffffn, referenced: 2 ** 60 })];
    const entry = roundTrip(columnsEntryMap("tank/a", rows));
    expect(entry.type).toBe("versions");
    expect(entry.dataset).toBe("tank/a");
    expect(rowsOf(entry.columns)).toEqual(rows);
  });

  test("without sizes, none are sent and none are read", () => {
    const rows = [row("s1", 1n, { referenced: null, written: null })];
    const wire = columnsEntryMap("tank/a", rows);
    expect(wire).not.toHaveProperty("referenced");
    expect(rowsOf(roundTrip(wire).columns)).toEqual(rows);
  });

  test("a record may mix them with dataset entries", () => {
    const record = decodeCbor(encodeCbor([{ type: "filesystem", name: "tank/a" }, columnsEntryMap("tank/a", [row("s1", 1n)])]), "test");
    expect(treeRecord(record, "record 1").map((e) => e.type)).toEqual(["filesystem", "versions"]);
  });

  const good = () => columnsEntryMap("tank/a", [row("s1", 1n), row("s2", 2n)]);
  test.each<[string, (e: Record<string, unknown>) => unknown, string]>([
    ["names shorter than kinds", (e) => ({ ...e, names: ["s1"] }), '"entry.names": expected 2 items for 2 versions, got 1'],
    ["a GUID column of the wrong length", (e) => ({ ...e, guids: new Uint8Array(15) }), '"entry.guids": expected 16 bytes for 2 versions, got 15'],
    ["createtxgs that are not bytes", (e) => ({ ...e, createtxgs: [1, 2] }), '"entry.createtxgs": expected a byte string, got an array'],
    ["a kind other than snapshot or bookmark", (e) => ({ ...e, kinds: new Uint8Array([0, 2]) }), '"entry.kinds[1]": expected 0 (snapshot) or 1 (bookmark), got 2'],
    ["creations missing one", (e) => ({ ...e, creations: [1] }), '"entry.creations": expected 2 items for 2 versions, got 1'],
    ["sizes of another length", (e) => ({ ...e, written: [1, 2, 3] }), '"entry.written": expected 2 items for 2 versions, got 3'],
    ["an empty name", (e) => ({ ...e, names: ["s1", ""] }), '"entry.names[1]": expected a non-empty string'],
    ["a name that is not text", (e) => ({ ...e, names: ["s1", 7] }), '"entry.names[1]": expected a string, got number'],
    ["a negative creation", (e) => ({ ...e, creations: [1, -1] }), '"entry.creations[1]": expected a non-negative integer'],
    ["an unknown field", (e) => ({ ...e, extra: 1 }), '"entry.extra": unknown field'],
    ["no dataset", ({ dataset: _, ...e }) => e, '"entry.dataset": expected a string'],
    ["more versions than an entry holds", (e) => ({ ...e, kinds: new Uint8Array(TREE_COLUMN_VERSIONS + 1) }), '"entry.kinds": longer than 2048 bytes'],
  ])("refuses %s", (_label, spoil, message) => {
    const value = decodeCbor(encodeCbor(spoil(good())), "test");
    expect(() => treeColumnsEntry(value, "entry")).toThrow(ValidationError);
    expect(() => treeColumnsEntry(value, "entry")).toThrow(message);
  });
});

describe("writeColumnsEntry", () => {
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
  const written = (dataset: string, pieces: Parameters<typeof columnsEntryMap>[1]) => {
    const w = new CborWriter();
    writeColumnsEntry(w, dataset, pieces);
    return hex(w.written());
  };
  const many = Array.from({ length: TREE_COLUMN_VERSIONS }, (_, i) => row(`autosnap_${i}`, BigInt(i + 1), { referenced: i % 3 === 0 ? null : 2 ** 32 + i, written: i }));

  test.each<[string, VersionRow[]]>([
    ["sized rows", [row("s1", 5n), row("s2", 6n)]],
    ["no sizes at all", [row("s1", 5n, { referenced: null, written: null })]],
    ["bookmarks and sizes of 2^32 and more", [row("b1", 5n, { kind: "bookmark", referenced: null, written: null }), row("s1", 5n, { referenced: 2 ** 40, written: 2 ** 53 - 1 })]],
    ["64-bit GUIDs and txgs", [row("s1", 0xffff_ffff_ffff_fff0n, { guid: 0xffff_ffff_ffff_ffffn })]],
    [`${TREE_COLUMN_VERSIONS} versions`, many],
  ])("writes the bytes encodeCbor writes of columnsEntryMap: %s", (_, rows) => {
    const columns = joinColumns(rows);
    expect(written("tank/a", [columns])).toBe(hex(encodeCbor(columnsEntryMap("tank/a", [columns]))));
    // Rows, views of a larger table, and both mixed: joined as the map form joins them.
    expect(written("tank/a", rows)).toBe(hex(encodeCbor(columnsEntryMap("tank/a", rows))));
    const wider = joinColumns([row("s0", 1n), ...rows]);
    const view = sliceColumns(wider, 1, wider.bookmark.length);
    expect(written("pool/a b:c", [view])).toBe(hex(encodeCbor(columnsEntryMap("pool/a b:c", [view]))));
    expect(written("tank/a", [rows[0]!, sliceColumns(columns, 1, columns.bookmark.length)])).toBe(hex(encodeCbor(columnsEntryMap("tank/a", [rows[0]!, sliceColumns(columns, 1, columns.bookmark.length)]))));
  });

  test("what it writes reads back as the same versions", () => {
    const w = new CborWriter();
    writeColumnsEntry(w, "tank/a", many);
    const entry = treeColumnsEntry(decodeCbor(w.written().slice(), "test"), "entry");
    expect(rowsOf(entry.columns)).toEqual(many);
  });

  test("refuses a creation or size that is not an integer, as encodeCbor does, and a negative one", () => {
    for (const bad of [row("s1", 5n, { creation: Number.NaN }), row("s1", 5n, { referenced: 1.5 })]) {
      expect(() => encodeCbor(columnsEntryMap("tank/a", [bad]))).toThrow(TypeError);
      expect(() => written("tank/a", [bad])).toThrow(TypeError);
    }
    // encodeCbor would write it, and a client refuses it as a size.
    expect(() => written("tank/a", [row("s1", 5n, { written: -1 })])).toThrow(TypeError);
  });
});
