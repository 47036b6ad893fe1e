import { describe, expect, test } from "bun:test";
import { markOf, replaceNamed, sameMark, sortByChange, type ListedDataset, type UnchangedEntry } from "./unchanged.ts";

const at = { name: "s1", kind: "snapshot" as const, guid: 7n, createtxg: 3n };

describe("markOf", () => {
  test.each([
    ["a dataset with GUID and value", { guid: 1n, snapshotsChanged: 100 }, undefined, {}, { guid: 1n, changed: 100 }],
    ["no GUID", { guid: null, snapshotsChanged: 100 }, undefined, {}, null],
    ["no value (zfs-fuse, OpenZFS before 2.2)", { guid: 1n, snapshotsChanged: null }, undefined, {}, null],
    ["no value, for a source without snapshots", { guid: 1n, snapshotsChanged: null }, 200, { none: true }, { guid: 1n, changed: null }],
    ["a partial receive on it", { guid: 1n, snapshotsChanged: 100, resumeToken: "1-abc" }, undefined, {}, null],
    ["older than the second its listing started in", { guid: 1n, snapshotsChanged: 99 }, 100.7, {}, { guid: 1n, changed: 99 }],
    ["in that very second: a later snapshot could keep it", { guid: 1n, snapshotsChanged: 100 }, 100.7, {}, null],
    ["after it (the clocks disagree)", { guid: 1n, snapshotsChanged: 105 }, 100, {}, null],
    ["no clock to compare with (a server without info.time)", { guid: 1n, snapshotsChanged: 5 }, null, {}, null],
  ] as const)("%s", (_what, d, listedAt, options, expected) => {
    expect(markOf(d as ListedDataset, listedAt as number | null | undefined, options)).toEqual(expected);
  });

  test("a dataset not listed has no mark", () => {
    expect(markOf(undefined)).toBeNull();
    expect(sameMark(null, null)).toBe(false);
  });
});

describe("sortByChange", () => {
  const entries = new Map<string, UnchangedEntry>([
    ["a", { kind: "up_to_date", source: { guid: 1n, changed: 10 }, target: { guid: 2n, changed: 11 }, at }],
    ["p", { kind: "no_snapshots", source: { guid: 5n, changed: null } }],
  ]);
  const now = (source: Record<string, ListedDataset>, target: Record<string, ListedDataset>) => ({ source: (n: string) => source[n], target: (n: string) => target[n] });

  test.each([
    ["both sides as they were", { a: { guid: 1n, snapshotsChanged: 10 } }, { a: { guid: 2n, snapshotsChanged: 11 } }, ["a"]],
    ["a snapshot on the source since", { a: { guid: 1n, snapshotsChanged: 12 } }, { a: { guid: 2n, snapshotsChanged: 11 } }, []],
    ["a snapshot destroyed on the target", { a: { guid: 1n, snapshotsChanged: 10 } }, { a: { guid: 2n, snapshotsChanged: 13 } }, []],
    ["the target made again (another GUID)", { a: { guid: 1n, snapshotsChanged: 10 } }, { a: { guid: 9n, snapshotsChanged: 11 } }, []],
    ["the target gone", { a: { guid: 1n, snapshotsChanged: 10 } }, {}, []],
    ["a partial receive on the target", { a: { guid: 1n, snapshotsChanged: 10 } }, { a: { guid: 2n, snapshotsChanged: 11, resumeToken: "1-x" } }, []],
  ] as const)("%s", (_what, source, target, unchanged) => {
    const sorted = sortByChange(["a"], entries, now(source as Record<string, ListedDataset>, target as Record<string, ListedDataset>));
    expect([...sorted.unchanged.keys()]).toEqual([...unchanged]);
    expect(sorted.changed).toEqual(unchanged.length ? [] : ["a"]);
  });

  test.each([
    ["still without a value, whatever the target", { guid: 5n, snapshotsChanged: null }, undefined, true],
    ["its first snapshot gave it a value", { guid: 5n, snapshotsChanged: 300 }, undefined, false],
    ["a partial receive on the target", { guid: 5n, snapshotsChanged: null }, { guid: 6n, snapshotsChanged: null, resumeToken: "1-y" }, false],
  ] as const)("a source without snapshots: %s", (_what, source, target, unchanged) => {
    const sorted = sortByChange(["p"], entries, now({ p: source }, target ? { p: target } : {}));
    expect(sorted.unchanged.has("p")).toBe(unchanged);
  });

  test("a filesystem without an entry is changed", () => {
    expect(sortByChange(["new"], entries, now({}, {})).changed).toEqual(["new"]);
  });
});

test("replaceNamed takes the narrower listing's nodes for the names it covers, and drops those it lacks", () => {
  const base = new Map([
    ["r/a", 1],
    ["r/b", 2],
    ["r/c", 3],
  ]);
  const out = replaceNamed(base, new Map([["r/a", 10]]), ["a", "b"], (n) => `r/${n}`);
  expect([...out]).toEqual([
    ["r/a", 10],
    ["r/c", 3],
  ]);
});
