import { describe, expect, test } from "bun:test";
import { MAX_NAME_LENGTH, NameError, isSameOrBelow, parseDatasetName, parseVersionName, parseVersionShortName, versionOf } from "./names.ts";

/** A dataset name of exactly `n` bytes: "tank/xxx…". */
function datasetOfLength(n: number): string {
  return `tank/${"x".repeat(n - 5)}`;
}

describe("parseDatasetName", () => {
  test.each([
    ["tank"],
    ["tank/a"],
    ["tank/a/b/c"],
    ["tank/my data"], // spaces are valid in OpenZFS (zrepl #75 rejected them and had to be patched)
    ["tank/a-b_c.d:e"],
    ["tank/a-"], // "-" inside a component is fine, only a leading one is not
    ["c"], // only "c" followed by a digit looks like a Solaris disk name
    [datasetOfLength(MAX_NAME_LENGTH)],
  ])("accepts %j", (name) => {
    expect(parseDatasetName(name) as string).toBe(name);
  });

  test.each([
    ["", "empty"],
    ["tank/../x", 'component ".." is not allowed'],
    ["tank/.", 'component "." is not allowed'],
    ["tank/-x", 'a component may not begin with "-"'], // would be read as an option by zfs
    ["-tank", "the pool name must begin with a letter"],
    ["1tank", "the pool name must begin with a letter"],
    ["tank//a", "empty component"],
    ["tank/", "empty component"],
    ["/tank", "empty component"],
    ["tank/a\nb", 'character "\\n" is not allowed'], // a newline would split `zfs list` output lines
    ["tank/a\tb", 'character "\\t" is not allowed'], // a tab would split `zfs list -H` fields
    ["tank/a@s", '"@" and "#" belong to snapshot and bookmark names'],
    ["tank/a#b", '"@" and "#" belong to snapshot and bookmark names'],
    ["tank/bår", 'character "å" is not allowed'],
    ["tank/a%recv", 'character "%" is not allowed'], // hidden datasets of a partial receive
    ["mirror", 'pool name "mirror" is reserved'],
    ["raidz/a", 'pool name "raidz" is reserved'],
    ["log", 'pool name "log" is reserved'],
    ["c0t0d0", 'pool name "c0t0d0" is reserved'],
    [datasetOfLength(MAX_NAME_LENGTH + 1), `longer than ${MAX_NAME_LENGTH} bytes`],
    [`tank/${"é".repeat(126)}`, "longer than"], // 257 bytes: the limit counts bytes, not characters
  ])("rejects %j", (name, reason) => {
    expect(() => parseDatasetName(name)).toThrow(NameError);
    expect(() => parseDatasetName(name)).toThrow(reason);
  });

  test.each([[undefined], [42], [null], [["tank"]]])("rejects the non-string %j with a TypeError", (input) => {
    expect(() => parseDatasetName(input)).toThrow(TypeError);
    expect(() => parseDatasetName(input)).toThrow("expected a string");
  });
});

describe("parseVersionName", () => {
  test("splits a snapshot name", () => {
    expect(parseVersionName("tank/a@s1")).toEqual({ dataset: "tank/a", kind: "snapshot", name: "s1", full: "tank/a@s1" } as never);
  });

  test("splits a bookmark name", () => {
    expect(parseVersionName("tank/a#b 1")).toEqual({ dataset: "tank/a", kind: "bookmark", name: "b 1", full: "tank/a#b 1" } as never);
  });

  test("accepts a name of exactly MAX_NAME_LENGTH bytes", () => {
    const name = `${"t".repeat(MAX_NAME_LENGTH - 3)}@ab`;
    expect(parseVersionName(name).full).toBe(name);
  });

  test.each([
    ["tank/a", 'expected "dataset@snapshot" or "dataset#bookmark"'],
    ["tank/a@", "Invalid snapshot name: empty"],
    ["tank/a#", "Invalid bookmark name: empty"],
    ["@s1", "Invalid dataset name: empty"],
    ["tank/a@s@t", '"@" is not allowed here'],
    ["tank/a@s#t", '"#" is not allowed here'],
    ["tank/a#b@t", '"@" is not allowed here'],
    ["tank/a@s/x", '"/" is not allowed here'],
    ["tank/a@23+42", 'character "+" is not allowed'], // zrepl namecheck_test: "+" is not a ZFS name character
    ["tank/a@s\tx", 'character "\\t" is not allowed'],
    ["tank/a@s\nx", 'character "\\n" is not allowed'],
    ["tank/../a@s", 'component ".." is not allowed'],
    [`${"t".repeat(MAX_NAME_LENGTH - 2)}@ab`, `longer than ${MAX_NAME_LENGTH} bytes`],
  ])("rejects %j", (name, reason) => {
    expect(() => parseVersionName(name)).toThrow(NameError);
    expect(() => parseVersionName(name)).toThrow(reason);
  });
});

describe("helpers", () => {
  test("parseVersionShortName rejects separators", () => {
    expect(() => parseVersionShortName("a/b")).toThrow('"/" is not allowed here');
  });

  test("versionOf builds the full name for each kind", () => {
    const ds = parseDatasetName("tank/a");
    expect(versionOf(ds, "snapshot", parseVersionShortName("s")).full).toBe("tank/a@s");
    expect(versionOf(ds, "bookmark", parseVersionShortName("b", "bookmark")).full).toBe("tank/a#b");
  });

  test.each([
    ["tank/a", "tank/a", true],
    ["tank/a/b", "tank/a", true],
    ["tank/ab", "tank/a", false],
    ["tank", "tank/a", false],
  ])("isSameOrBelow(%j, %j) is %p", (child, parent, expected) => {
    expect(isSameOrBelow(child, parent)).toBe(expected);
  });
});
