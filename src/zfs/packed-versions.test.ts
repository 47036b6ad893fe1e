import { describe, expect, test } from "bun:test";
import { joinColumns, rowAt, sliceColumns, VersionColumnsBuilder, VersionTable, type PackedVersions, type VersionColumns, type VersionRow } from "./packed-versions.ts";
import type { VersionShortName } from "./names.ts";

const row = (name: string, createtxg: number, extra: Partial<VersionRow> = {}): VersionRow => ({
  kind: "snapshot",
  name: name as VersionShortName,
  guid: BigInt(createtxg) * 1_000_003n,
  createtxg: BigInt(createtxg),
  creation: 1_700_000_000 + createtxg,
  referenced: 4096,
  written: 512,
  ...extra,
});

function packed(rows: VersionRow[]): PackedVersions<VersionRow> {
  const builder = new VersionColumnsBuilder();
  for (const r of rows) builder.push(r);
  return new VersionTable().append(builder, "tank/a", rowAt);
}

describe("PackedVersions", () => {
  test("sorts oldest first, a bookmark before the snapshot of its txg, then by name", () => {
    const list = packed([row("c", 9), row("b", 5), row("bm", 5, { kind: "bookmark", referenced: null }), row("a2", 7), row("a1", 7)]);
    expect(list.map((v) => `${v.kind} ${v.name}`)).toEqual(["bookmark bm", "snapshot b", "snapshot a1", "snapshot a2", "snapshot c"]);
  });

  test.each<[string, Partial<VersionRow>]>([
    ["64-bit GUID and createtxg", { guid: 0xffff_ffff_ffff_ffffn, createtxg: 0xffff_ffff_ffff_fffen }],
    ["no sizes", { referenced: null, written: null }],
    ["a size beyond 2^53, rounded as the listing parsed it", { referenced: 2 ** 60 }],
    ["zero sizes", { referenced: 0, written: 0 }],
  ])("reads back a version with %s as it went in", (_label, extra) => {
    const v = row("s", 3, extra);
    expect([...packed([v])]).toEqual([v]);
  });

  test("at, find, some and map as an array has them; each read builds a new object", () => {
    const list = packed([row("a", 1), row("b", 2), row("c", 3)]);
    expect(list.length).toBe(3);
    expect(list.at(0)?.name as string).toBe("a");
    expect(list.at(-1)?.name as string).toBe("c");
    expect(list.at(3)).toBeUndefined();
    expect(list.at(-4)).toBeUndefined();
    expect(list.find((v) => v.guid === 2n * 1_000_003n)?.name as string).toBe("b");
    expect(list.find((v) => v.guid === 1n)).toBeUndefined();
    expect(list.some((v) => v.name === "c")).toBe(true);
    expect(list.map((v, i) => `${i}:${v.name}`)).toEqual(["0:a", "1:b", "2:c"]);
    expect(list.at(0)).not.toBe(list.at(0));
  });

  test("an empty builder packs an empty list", () => {
    expect([...packed([])]).toEqual([]);
    expect(packed([]).length).toBe(0);
  });
});

describe("VersionTable", () => {
  const view = (c: VersionColumns, i: number, dataset: string) => `${dataset}${c.bookmark[i] === 1 ? "#" : "@"}${c.names[i]}:${c.createtxg[i]}`;
  const columnsOf = (rows: VersionRow[]): VersionColumns => ({
    bookmark: Uint8Array.from(rows, (r) => (r.kind === "bookmark" ? 1 : 0)),
    names: rows.map((r) => r.name),
    guid: BigUint64Array.from(rows, (r) => r.guid),
    createtxg: BigUint64Array.from(rows, (r) => r.createtxg),
    creation: Float64Array.from(rows, (r) => r.creation),
    referenced: Float64Array.from(rows, (r) => r.referenced ?? Number.NaN),
    written: Float64Array.from(rows, (r) => r.written ?? Number.NaN),
  });

  test("keeps each dataset's versions apart, in one table, across blocks", () => {
    const table = new VersionTable();
    const lists = ["a", "b", "c"].map((ds, d) => {
      const builder = new VersionColumnsBuilder();
      // b is larger than a block: it gets one of its own, and c goes on after it.
      const n = ds === "b" ? 70_000 : 3;
      for (let i = n - 1; i >= 0; i--) builder.push(row(`s${i}`, i + 1 + d * 100_000));
      return table.append(builder, `tank/${ds}`, view);
    });
    expect(lists.map((l) => l.length)).toEqual([3, 70_000, 3]);
    expect([...lists[0]!]).toEqual(["tank/a@s0:1", "tank/a@s1:2", "tank/a@s2:3"]);
    expect(lists[1]!.at(-1)).toBe("tank/b@s69999:170000");
    expect([...lists[2]!]).toEqual(["tank/c@s0:200001", "tank/c@s1:200002", "tank/c@s2:200003"]);
  });

  test("columns sent in order are taken as they are; out of order, or with more, they are sorted", () => {
    const table = new VersionTable();
    const rows = [row("b", 1, { kind: "bookmark" }), row("a", 1), row("c", 1), row("d", 2)];
    const inOrder = new VersionColumnsBuilder();
    inOrder.pushColumns(columnsOf(rows));
    expect([...table.append(inOrder, "tank/x", view)]).toEqual(["tank/x#b:1", "tank/x@a:1", "tank/x@c:1", "tank/x@d:2"]);
    const reversed = new VersionColumnsBuilder();
    reversed.pushColumns(columnsOf([...rows].reverse()));
    expect([...table.append(reversed, "tank/y", view)]).toEqual(["tank/y#b:1", "tank/y@a:1", "tank/y@c:1", "tank/y@d:2"]);
    const mixed = new VersionColumnsBuilder();
    mixed.pushColumns(columnsOf(rows.slice(2)));
    mixed.push(row("z", 0));
    mixed.pushColumns(columnsOf(rows.slice(0, 2)));
    expect([...table.append(mixed, "tank/z", view)]).toEqual(["tank/z@z:0", "tank/z#b:1", "tank/z@a:1", "tank/z@c:1", "tank/z@d:2"]);
  });

  test("columns in several pieces, each in order and in order one after the other, are taken as they are; a piece out of place sorts them", () => {
    const table = new VersionTable();
    const rows = [row("b", 1, { kind: "bookmark" }), row("a", 1), row("c", 1), row("d", 2)];
    const pieces = new VersionColumnsBuilder();
    for (const [from, to] of [[0, 1], [1, 1], [1, 3], [3, 4]] as const) pieces.pushColumns(columnsOf(rows.slice(from, to)));
    const taken = pieces.takeSorted();
    expect(taken.columns?.map((c) => [...c.names] as string[])).toEqual([["b"], ["a", "c"], ["d"]]);
    const swapped = new VersionColumnsBuilder();
    swapped.pushColumns(columnsOf(rows.slice(2)));
    swapped.pushColumns(columnsOf(rows.slice(0, 2)));
    expect([...table.append(swapped, "tank/s", view)]).toEqual(["tank/s#b:1", "tank/s@a:1", "tank/s@c:1", "tank/s@d:2"]);
  });

  test("joinColumns copies pieces of columns and rows into columns of their own, in order", () => {
    const rows = [row("a", 1), row("b", 2, { kind: "bookmark", referenced: null }), row("c", 3, { written: null })];
    const joined = joinColumns([columnsOf(rows.slice(0, 1)), rows[1]!, sliceColumns(columnsOf(rows), 2, 3)]);
    expect(joined.bookmark.length).toBe(3);
    expect([0, 1, 2].map((i) => rowAt(joined, i))).toEqual(rows);
  });

  test("rows() reads back every version as a plain row", () => {
    const builder = new VersionColumnsBuilder();
    const rows = [row("a", 1), row("b", 2, { referenced: null, written: null })];
    for (const r of rows) builder.push(r);
    expect(new VersionTable().append(builder, "tank/a", view).rows()).toEqual(rows);
  });
});
