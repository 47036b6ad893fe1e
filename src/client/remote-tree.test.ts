import { describe, expect, test } from "bun:test";
import { columnsEntryMap, recordOf } from "../../test/helpers/wire-records.ts";
import type { VersionShortName } from "../zfs/index.ts";
import { ProtocolError } from "../wire/index.ts";
import { treeCollector } from "./remote-tree.ts";

const fs = (name: string) => ({ type: "filesystem", name });
const snap = (dataset: string, name: string, txg: number) => ({ type: "snapshot", dataset, name, guid: BigInt(txg) + 100n, createtxg: BigInt(txg), creation: 1 });

function collect(...records: unknown[][]) {
  const c = treeCollector("test listing");
  for (const r of records) c.sink(recordOf(r));
  return c.done();
}

describe("a list_tree body, as the client reads it", () => {
  test("versions join the dataset listed before them, oldest first, across records", () => {
    const tree = collect([fs("tank/a"), snap("tank/a", "s2", 2)], [snap("tank/a", "s1", 1), fs("tank/b")]);
    expect([...tree.keys()]).toEqual(["tank/a", "tank/b"]);
    expect(tree.get("tank/a")!.versions.map((v) => v.name)).toEqual(["s1", "s2"]);
  });

  test("a version read back is the entry the server sent, sizes left out where it had none", () => {
    const sized = { ...snap("tank/a", "s1", 1), referenced: 4096, written: 0 };
    const bookmark = { type: "bookmark", dataset: "tank/a", name: "b1", guid: 101n, createtxg: 1n, creation: 1 };
    const tree = collect([fs("tank/a"), sized, bookmark, snap("tank/a", "s2", 2)]);
    expect([...tree.get("tank/a")!.versions] as unknown[]).toEqual([bookmark, sized, snap("tank/a", "s2", 2)]);
    expect(tree.get("tank/a")!.versions.at(-1) as unknown).toEqual(snap("tank/a", "s2", 2));
  });

  test("a version of a dataset listed before another joins its own dataset's versions", () => {
    const tree = collect([fs("tank/a"), snap("tank/a", "s2", 2), fs("tank/b"), snap("tank/b", "t1", 5), snap("tank/a", "s1", 1)]);
    expect(tree.get("tank/a")!.versions.map((v) => v.name)).toEqual(["s1", "s2"]);
    expect(tree.get("tank/b")!.versions.map((v) => v.name)).toEqual(["t1"]);
  });

  test.each<[string, unknown[][], string]>([
    ["a version of a dataset it did not list before", [[snap("tank/a", "s1", 1), fs("tank/a")]], 'a version of "tank/a", which it did not list before'],
    ["a dataset listed twice", [[fs("tank/a")], [fs("tank/a")]], '"tank/a" is listed twice'],
    ["an entry of an unknown shape", [[{ type: "filesystem", name: "tank/a", extra: 1 }]], "unknown field"],
    ["a record that is not an array", [[]].map(() => ({ type: "filesystem" }) as never), "expected an array"],
  ])("a hostile server's %s is refused", (_label, records, message) => {
    expect(() => collect(...records)).toThrow(ProtocolError);
    expect(() => collect(...records)).toThrow(message);
  });
});

describe("a list_tree body in columns, as the client reads it", () => {
  const rows = (...names: [string, number][]) => names.map(([name, txg]) => ({ kind: "snapshot" as const, name: name as VersionShortName, guid: BigInt(txg) + 100n, createtxg: BigInt(txg), creation: 1, referenced: null, written: null }));

  test("column entries join the dataset listed before them, and read back as version entries", () => {
    const tree = collect([fs("tank/a"), columnsEntryMap("tank/a", rows(["s2", 2]))], [columnsEntryMap("tank/a", rows(["s1", 1])), fs("tank/b"), snap("tank/b", "t1", 5)]);
    expect([...tree.get("tank/a")!.versions] as unknown[]).toEqual([snap("tank/a", "s1", 1), snap("tank/a", "s2", 2)]);
    expect(tree.get("tank/b")!.versions.map((v) => v.name)).toEqual(["t1"]);
  });

  test("a hostile server's columns of a dataset it did not list before are refused", () => {
    expect(() => collect([fs("tank/a"), columnsEntryMap("tank/secret", rows(["s1", 1]))])).toThrow('a version of "tank/secret", which it did not list before');
  });
});
