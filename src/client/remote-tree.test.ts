import { describe, expect, test } from "bun:test";
import { encodeRecord } from "../rpc/index.ts";
import { ProtocolError } from "../wire/index.ts";
import { treeCollector } from "./remote-tree.ts";

const fs = (name: string) => ({ type: "filesystem", name });
const snap = (dataset: string, name: string, txg: number) => ({ type: "snapshot", dataset, name, guid: BigInt(txg) + 100n, createtxg: BigInt(txg), creation: 1 });

function collect(...records: unknown[][]) {
  const c = treeCollector("test listing");
  for (const r of records) c.sink(encodeRecord(r));
  return c.done();
}

describe("a list_tree body, as the client reads it", () => {
  test("versions join the dataset listed before them, oldest first, across records", () => {
    const tree = collect([fs("tank/a"), snap("tank/a", "s2", 2)], [snap("tank/a", "s1", 1), fs("tank/b")]);
    expect([...tree.keys()]).toEqual(["tank/a", "tank/b"]);
    expect(tree.get("tank/a")!.versions.map((v) => v.name)).toEqual(["s1", "s2"]);
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
