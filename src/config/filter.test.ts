import { describe, expect, test } from "bun:test";
import { DatasetFilter, FilterError } from "./filter.ts";

const ZREPL_DOCS = { "tank<": true, "tank/foo/bar": false, "tank/foo<": true, "tank/bar": false };
const DATA = { "tank/data<": true, "tank/data/scratch<": false, "tank/home": true };

describe("DatasetFilter.allows", () => {
  test.each([
    // [filter, dataset, expected, why]
    [DATA, "tank/data", true, "subtree pattern matches its own root"],
    [DATA, "tank/data/a/b", true, "subtree pattern matches descendants"],
    [DATA, "tank/data2", false, "sibling with the same prefix is not below tank/data"],
    [DATA, "tank/data2/x", false, "nor its children"],
    [DATA, "tank/dat", false, "a shorter name is not matched"],
    [DATA, "tank/data/scratch", false, "deny inside allow: deeper pattern wins"],
    [DATA, "tank/data/scratch/tmp", false, "deny covers the subtree"],
    [DATA, "tank/data/scratchy", true, "deny does not spill to sibling prefix"],
    [DATA, "tank/home", true, "exact pattern"],
    [DATA, "tank/home/alice", false, "exact pattern does not cover children"],
    [DATA, "tank", false, "parent of an allowed subtree is not allowed"],
    [DATA, "other", false, "no match denies"],
    [ZREPL_DOCS, "tank/foo/bar/loo", true, "zrepl docs: tank/foo< is the most specific"],
    [ZREPL_DOCS, "tank/bar", false, "zrepl docs: exact beats tank<"],
    [ZREPL_DOCS, "tank/foo/bar", false, "zrepl docs: exact beats tank/foo<"],
    [ZREPL_DOCS, "zroot", false, "zrepl docs: no match"],
    [{ "tank/a<": true, "tank/a": false }, "tank/a", false, "exact beats subtree of the same name"],
    [{ "tank/a<": true, "tank/a": false }, "tank/a/b", true, "exact deny leaves children to the subtree rule"],
    [{ "tank/a<": false, "tank/a": true }, "tank/a", true, "exact allow of a denied subtree root"],
    [{ "tank/a<": false, "tank/a": true }, "tank/a/b", false, "children stay denied"],
    [{ "<": true, "tank/secret<": false }, "zroot/x", true, "< alone matches every dataset"],
    [{ "<": true, "tank/secret<": false }, "tank/secret/x", false, "a deeper deny beats <"],
    [{ "<": false, "tank/pub": true }, "tank/pub", true, "exact allow inside a global deny"],
    [{}, "tank", false, "empty filter denies everything"],
    [{ "tank/x y<": true }, "tank/x y/z", true, "names with spaces"],
  ] as const)("%j allows %s → %p (%s)", (map, ds, expected) => {
    expect(DatasetFilter.fromMap(map).allows(ds)).toBe(expected);
  });

  test("the most specific pattern wins regardless of map order", () => {
    const entries = Object.entries({ "tank<": true, "tank/a<": false, "tank/a/b<": true, "tank/a/b/c": false, "tank/a/b/c<": false });
    const probes = ["tank", "tank/z", "tank/a", "tank/a/z", "tank/a/b", "tank/a/b/z", "tank/a/b/c", "tank/a/b/c/d"];
    const expected = [true, true, false, false, true, true, false, false];
    for (const order of permutations(entries)) {
      const filter = DatasetFilter.fromMap(Object.fromEntries(order));
      expect(probes.map((ds) => filter.allows(ds))).toEqual(expected);
    }
  });
});

describe("DatasetFilter.mayContainAllowed", () => {
  test.each([
    [DATA, "tank", true, "tank/data is below"],
    [DATA, "tank/data", true, "allowed itself"],
    [DATA, "tank/data/scratch", false, "denied subtree with nothing allowed below"],
    [DATA, "tank/data2", false, "sibling prefix"],
    [DATA, "tank/home", true, "exact allow"],
    [DATA, "tank/home/alice", false, "below an exact allow"],
    [DATA, "zroot", false, "other pool"],
    [{ "tank/a<": true, "tank/a": false }, "tank/a", true, "denied itself, children allowed"],
    [{ "tank<": false, "tank/a/b/c": true }, "tank/a", true, "a deep exact allow"],
    [{ "tank<": false, "tank/a/b/c": true }, "tank/a/b/c/d", false, "below the exact allow"],
    [{ "tank/a<": false, "tank/a/b<": true }, "tank/a", true, "a deeper subtree allow"],
    [{ "tank/a<": false, "tank/a/b<": true }, "tank/a/c", false, "a sibling of that"],
    [{ "<": true }, "anything/at/all", true, "< allows all"],
    [{}, "tank", false, "empty filter"],
  ] as const)("%j mayContainAllowed %s → %p (%s)", (map, ds, expected) => {
    expect(DatasetFilter.fromMap(map).mayContainAllowed(ds)).toBe(expected);
  });
});

describe("DatasetFilter.roots", () => {
  test.each([
    [DATA, ["tank/data", "tank/home"], "a subtree and an exact allow"],
    [{ "tank/a<": true, "tank/a/b<": true, "tank/a/b/c": true }, ["tank/a"], "nested allows fold into the topmost"],
    [{ "tank/a<": true, "tank/ab<": true }, ["tank/a", "tank/ab"], "a name prefix is not a parent"],
    [{ "tank<": false, "tank/a/b/c": true }, ["tank/a/b/c"], "a deep allow under a denied pool"],
    [{ "tank/a<": false }, [], "nothing allowed"],
    [{}, [], "empty filter"],
    [{ "<": true, "tank/x<": false }, null, "< allows all: every pool"],
    [{ "<": false, "zroot<": true, "tank/a": true }, ["tank/a", "zroot"], "< denied"],
  ] as const)("%j roots → %j (%s)", (map, expected) => {
    const roots = DatasetFilter.fromMap(map).roots();
    expect(roots).toEqual(expected === null ? null : [...expected]);
    // Every dataset the filter allows is at or below a root.
    for (const name of ["tank", "tank/a", "tank/a/b/c", "tank/ab", "tank/data/x", "tank/home", "zroot/y"]) {
      if (roots !== null && DatasetFilter.fromMap(map).allows(name)) expect(roots.some((r) => name === r || name.startsWith(`${r}/`))).toBe(true);
    }
  });
});

describe("DatasetFilter.fromMap", () => {
  test.each([
    ["tank/x<<", 'invalid pattern: invalid dataset name "tank/x<": character "<" is not allowed'],
    ["", "invalid pattern: invalid dataset name: empty"],
    ["tank/", 'invalid pattern: invalid dataset name "tank/": empty component'],
    ["/tank", 'invalid pattern: invalid dataset name "/tank": empty component'],
    ["tank//a<", 'invalid pattern: invalid dataset name "tank//a": empty component'],
    ["tank/../etc", 'invalid pattern: invalid dataset name "tank/../etc": component ".." is not allowed'],
    ["tank/*", 'invalid pattern: invalid dataset name "tank/*": character "*" is not allowed'],
    ["tank/a@snap", 'invalid pattern: invalid dataset name "tank/a@snap": "@" and "#" belong to snapshot and bookmark names'],
    ["<tank", 'invalid pattern: invalid dataset name "<tank": character "<" is not allowed'],
    ["tank/<", 'invalid pattern: invalid dataset name "tank/": empty component'],
    ["tank/a\n", 'invalid pattern: invalid dataset name "tank/a\\n": character "\\n" is not allowed'],
  ])("rejects pattern %j", (pattern, reason) => {
    const error = catchError(() => DatasetFilter.fromMap({ [pattern]: true }, "clients.b1.filesystems"));
    expect(error).toBeInstanceOf(FilterError);
    expect(error).toMatchObject({ reason, keyPath: `clients.b1.filesystems.${JSON.stringify(pattern)}` });
    expect((error as Error).message).toBe(`clients.b1.filesystems.${JSON.stringify(pattern)}: ${reason}`);
  });

  test("a bare pattern key stays unquoted in the key path", () => {
    expect(catchError(() => DatasetFilter.fromMap({ tank: "yes" }, "jobs.a.filesystems"))).toMatchObject({
      keyPath: "jobs.a.filesystems.tank",
      reason: "expected a boolean (true allows, false denies), got a string",
    });
  });

  test("without a key path the pattern alone is named", () => {
    expect(catchError(() => DatasetFilter.fromMap({ "a<<": true }))).toMatchObject({ keyPath: '"a<<"' });
  });

  test("allowAll allows every dataset", () => {
    const all = DatasetFilter.allowAll();
    expect([all.allows("tank"), all.allows("z/a/b/c"), String(all)]).toEqual([true, true, '{ "<" = true }']);
  });

  test("the filter is frozen", () => {
    expect(Object.isFrozen(DatasetFilter.fromMap(DATA))).toBe(true);
  });
});

describe("DatasetFilter.toString", () => {
  test("sorts by dataset, exact before <", () => {
    expect(String(DatasetFilter.fromMap({ "tank/home": true, "tank/data/scratch<": false, "tank/data<": true, "tank/data": false }))).toBe(
      '{ "tank/data" = false, "tank/data<" = true, "tank/data/scratch<" = false, "tank/home" = true }',
    );
  });

  test("an empty filter is {}", () => {
    expect(String(DatasetFilter.fromMap({}))).toBe("{}");
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}
