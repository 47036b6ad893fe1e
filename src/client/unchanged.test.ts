import { describe, expect, test } from "bun:test";
import { markOf, replaceNamed, sameMark, secondRound, sortByChange, sourceListedWhole, type ListedDataset, type SecondRoundLists, type UnchangedEntry } from "./unchanged.ts";

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

  test.each([
    ["only the source moved", { a: { guid: 1n, snapshotsChanged: 12 } }, { a: { guid: 2n, snapshotsChanged: 11 } }, "targetHeld"],
    ["the source moved and shows no value (its versions are listed anyway)", { a: { guid: 1n, snapshotsChanged: null } }, { a: { guid: 2n, snapshotsChanged: 11 } }, "targetHeld"],
    ["the source made again (another GUID)", { a: { guid: 3n, snapshotsChanged: 12 } }, { a: { guid: 2n, snapshotsChanged: 11 } }, "changed"],
    ["both sides moved", { a: { guid: 1n, snapshotsChanged: 12 } }, { a: { guid: 2n, snapshotsChanged: 13 } }, "changed"],
    ["the source moved, a partial receive on the target", { a: { guid: 1n, snapshotsChanged: 12 } }, { a: { guid: 2n, snapshotsChanged: 11, resumeToken: "1-x" } }, "changed"],
    ["the source moved, the target gone", { a: { guid: 1n, snapshotsChanged: 12 } }, {}, "changed"],
  ] as const)("with targetHeld: %s", (_what, source, target, expected) => {
    const sorted = sortByChange(["a"], entries, now(source as Record<string, ListedDataset>, target as Record<string, ListedDataset>), { targetHeld: true });
    expect(sorted.targetHeld.has("a") ? "targetHeld" : sorted.changed.includes("a") ? "changed" : "unchanged").toBe(expected);
    // Without the option a moved source is always changed.
    expect(sortByChange(["a"], entries, now(source as Record<string, ListedDataset>, target as Record<string, ListedDataset>)).changed).toEqual(["a"]);
  });

  test("an entry without snapshots never holds only its target", () => {
    const sorted = sortByChange(["p"], entries, now({ p: { guid: 5n, snapshotsChanged: 300 } }, {}), { targetHeld: true });
    expect(sorted.changed).toEqual(["p"]);
  });
});

describe("secondRound", () => {
  const entry = (n: number): UnchangedEntry => ({ kind: "up_to_date", source: { guid: BigInt(n), changed: 10 }, target: { guid: BigInt(100 + n), changed: 11 }, at });
  const names = ["a", "b", "c", "d"];
  const marks = new Map(names.map((n, i) => [n, entry(i)]));
  /** Each name's sides now: "=" as marked, "s" the source moved, "t" the target moved, "st" both. */
  const listedNow = (moves: Record<string, string>) => ({
    source: (n: string) => ({ guid: BigInt(names.indexOf(n)), snapshotsChanged: moves[n]?.includes("s") ? 20 : 10 }),
    target: (n: string) => ({ guid: BigInt(100 + names.indexOf(n)), snapshotsChanged: moves[n]?.includes("t") ? 21 : 11 }),
  });

  test.each([
    ["nothing moved: no second listing", {}, true, null],
    ["one source moved", { a: "s" }, true, { source: ["a"], target: [], targetHeld: ["a"] }],
    ["one target moved", { b: "t" }, true, { source: ["b"], target: ["b"], targetHeld: [] }],
    ["three sources moved: the source whole, no target", { a: "s", b: "s", c: "s" }, true, { source: "whole", target: [], targetHeld: ["a", "b", "c"] }],
    ["three sources, one of them both sides", { a: "s", b: "s", c: "st" }, true, { source: "whole", target: ["c"], targetHeld: ["a", "b"] }],
    ["three both sides: both whole", { a: "st", b: "st", c: "t" }, true, { source: "whole", target: "whole", targetHeld: [] }],
    ["without targetHeld, three sources moved: both whole", { a: "s", b: "s", c: "s" }, false, { source: "whole", target: "whole", targetHeld: [] }],
    ["without targetHeld, one source moved: both by name", { a: "s" }, false, { source: ["a"], target: ["a"], targetHeld: [] }],
  ] as const)("%s", async (_what, moves, targetHeld, expected) => {
    let asked: SecondRoundLists | null = null;
    const { trees, unchanged } = await secondRound("first", {
      names,
      marks,
      now: listedNow(moves),
      targetHeld,
      list: async (lists) => {
        asked = lists;
        return "second";
      },
    });
    const got = asked as SecondRoundLists | null;
    expect(got && { source: got.source, target: got.target, targetHeld: [...got.targetHeld.keys()] }).toEqual(expected as never);
    expect(trees).toBe(expected ? "second" : "first");
    expect([...unchanged.keys()]).toEqual(names.filter((n) => !(n in moves)));
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

describe("sourceListedWhole", () => {
  const marks = new Map<string, UnchangedEntry>([
    ["a", { kind: "up_to_date", source: { guid: 1n, changed: 10 }, target: { guid: 2n, changed: 11 }, at }],
    ["b", { kind: "up_to_date", source: { guid: 3n, changed: 10 }, target: { guid: 4n, changed: 11 }, at }],
    ["p", { kind: "no_snapshots", source: { guid: 5n, changed: null } }],
  ]);
  const held: Record<string, ListedDataset> = { a: { guid: 1n, snapshotsChanged: 10 }, b: { guid: 3n, snapshotsChanged: 10 }, p: { guid: 5n, snapshotsChanged: null } };

  test.each([
    ["every source held its mark", {}, ["a", "b", "p"], false],
    ["one of three moved", { a: { guid: 1n, snapshotsChanged: 12 } }, ["a", "b", "p"], false],
    ["two of three moved", { a: { guid: 1n, snapshotsChanged: 12 }, p: { guid: 5n, snapshotsChanged: 20 } }, ["a", "b", "p"], true],
    ["made again under its name, and one without an entry", { b: { guid: 9n, snapshotsChanged: 10 } }, ["a", "b", "new"], true],
    ["half moved: naming each is still cheaper", { a: { guid: 1n, snapshotsChanged: 12 } }, ["a", "b"], false],
  ] as const)("%s", (_what, moved, names, whole) => {
    const now: Record<string, ListedDataset> = { ...held, ...moved };
    expect(sourceListedWhole(names, marks, (n) => now[n])).toBe(whole);
  });

  test("agrees with secondRound wherever it says whole: the target can only add to the source's listing", async () => {
    const now: Record<string, ListedDataset> = { ...held, a: { guid: 1n, snapshotsChanged: 12 }, p: { guid: 5n, snapshotsChanged: 20 } };
    const names = ["a", "b", "p"];
    expect(sourceListedWhole(names, marks, (n) => now[n])).toBe(true);
    let lists: SecondRoundLists | null = null;
    await secondRound(null, { names, marks, now: { source: (n) => now[n], target: () => undefined }, targetHeld: true, list: async (l) => void (lists = l) });
    expect(lists!.source).toBe("whole");
  });
});
