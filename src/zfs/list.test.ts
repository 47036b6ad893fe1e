import { describe, expect, test } from "bun:test";
import { ZfsError } from "./errors.ts";
import { parseVersionGet, parseVersionList } from "./list.ts";
import { parseDatasetName } from "./names.ts";

const ds = parseDatasetName("tank/my data");
const argv = ["list", "-H", "-p", "-o", "name,guid,createtxg,creation", "tank/my data"];

describe("parseVersionList", () => {
  test("reads snapshots and bookmarks with exact 64-bit guids", () => {
    const out = "tank/my data@s1\t18446744073709551615\t7\t1700000000\ntank/my data#b1\t9007199254740993\t7\t1700000000\n";
    expect(parseVersionList(out, ds, argv).map((v) => [v.name.full, v.guid, v.createtxg, v.creation])).toEqual([
      ["tank/my data@s1", 18446744073709551615n, 7n, 1700000000],
      ["tank/my data#b1", 9007199254740993n, 7n, 1700000000], // 2^53 + 1: a Number would round it
    ]);
  });

  test("returns nothing for empty output", () => {
    expect(parseVersionList("", ds)).toEqual([]);
  });

  test.each([
    ["tank/my data@s1\t16.0E\t7\t1700000000", 'guid "16.0E" is not an exact unsigned integer'], // `list` without -p
    ["tank/my data@s1\t-1\t7\t1700000000", 'guid "-1"'],
    ["tank/my data@s1\t0x10\t7\t1700000000", 'guid "0x10"'],
    ["tank/my data@s1\t18446744073709551616\t7\t1700000000", "exceeds 64 bits"],
    ["tank/my data@s1\t1\t7", "expected 4 tab-separated fields, got 3"],
    ["tank/other@s1\t1\t7\t1700000000", 'is not a version of "tank/my data"'],
    ["tank/my data\t1\t7\t1700000000", 'expected "dataset@snapshot"'],
    ["tank/my data@s\u00e51\t1\t7\t1700000000", 'character "å" is not allowed'],
    ["tank/my data@s1\t1\t7\tSun Nov 12 10:00 2023", 'creation "Sun Nov 12 10:00 2023"'],
  ])("turns a bad line into a ZfsError: %j", (line, reason) => {
    let error: unknown;
    try {
      parseVersionList(`tank/my data@ok\t1\t2\t3\n${line}\n`, ds, argv);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ZfsError);
    expect((error as ZfsError).message).toStartWith('list "tank/my data": cannot parse zfs output: line 2 ');
    expect((error as ZfsError).message).toContain(reason);
    expect((error as ZfsError).argv).toEqual(argv);
  });
});

describe("parseVersionGet", () => {
  test("groups `zfs get -Hp -d 1` lines by name in first-seen order, skipping the datasets", () => {
    const out = [
      "tank/my data\tguid\t1",
      "tank/my data\tcreatetxg\t2",
      "tank/my data\tcreation\t1795554000",
      "tank/my data@b\tguid\t6893661144861224256",
      "tank/my data@b\tcreatetxg\t9",
      "tank/my data@b\tcreation\t1795554275",
      "tank/my data@a\tguid\t15608217786423863174",
      "tank/my data@a\tcreatetxg\t7",
      "tank/my data@a\tcreation\t1795554270",
      "tank/my data/child\tguid\t3",
    ].join("\n");
    expect(parseVersionGet(out, ds).map((v) => [v.name.name as string, v.guid, v.createtxg])).toEqual([
      ["b", 6893661144861224256n, 9n],
      ["a", 15608217786423863174n, 7n],
    ]);
  });

  test("a name missing a property is a ZfsError", () => {
    expect(() => parseVersionGet("tank/my data@a\tguid\t1\ntank/my data@a\tcreatetxg\t2\n", ds)).toThrow(
      '"tank/my data@a": missing creation',
    );
  });

  test("a snapshot of another dataset is a ZfsError", () => {
    expect(() => parseVersionGet("tank/my data/child@a\tguid\t1\ntank/my data/child@a\tcreatetxg\t2\ntank/my data/child@a\tcreation\t3\n", ds)).toThrow('is not a version of "tank/my data"');
  });

  test("a line with the wrong field count is a ZfsError", () => {
    expect(() => parseVersionGet("tank/my data@a guid 1\n", ds)).toThrow(ZfsError);
  });
});
