import { describe, expect, test } from "bun:test";
import { listLineParser } from "./_list-line.ts";
import { interner, makeRecord } from "./_tree-record.ts";

const COLUMNS = ["name", "type", "guid", "createtxg", "creation", "referenced", "written", "snapshots_changed", "receive_resume_token"];
const DATASET = "tank/a\tfilesystem\t11\t2\t1700000000\t98304\t0\t1700000005\t-";

/** The general path, which checks the whole name of every line. */
function general(line: string) {
  const fields = line.split("\t");
  if (fields.length !== COLUMNS.length) throw new SyntaxError("fields");
  return makeRecord(fields[0]!, (c) => (COLUMNS.includes(c) ? fields[COLUMNS.indexOf(c)] : undefined), interner());
}

/** What `parse` makes of `line` after the dataset line, or the kind of error it throws. */
function outcome(parse: (line: string) => unknown, line: string): unknown {
  try {
    return parse(line);
  } catch (err) {
    return (err as Error).constructor.name;
  }
}

describe("listLineParser", () => {
  test.each<[string, string]>([
    ["a snapshot of the dataset before it", "tank/a@s1\tsnapshot\t12\t3\t1700000001\t98304\t4096\t-\t-"],
    ["a bookmark of it", "tank/a#b1\tbookmark\t12\t3\t1700000001\t-\t-\t-\t-"],
    ["a version of another dataset", "tank/b@s1\tsnapshot\t12\t3\t1700000001\t98304\t4096\t-\t-"],
    ["a version of a dataset whose name starts alike", "tank/ab@s1\tsnapshot\t12\t3\t1700000001\t98304\t4096\t-\t-"],
    ["a child dataset", "tank/a/b\tfilesystem\t13\t4\t1700000002\t98304\t0\t-\t-"],
    ["a snapshot named with a bookmark's mark", "tank/a#s1\tsnapshot\t12\t3\t1700000001\t98304\t4096\t-\t-"],
    ["a short name with a slash", "tank/a@s/1\tsnapshot\t12\t3\t1700000001\t98304\t4096\t-\t-"],
    ["a short name with a second mark", "tank/a@s@1\tsnapshot\t12\t3\t1700000001\t98304\t4096\t-\t-"],
    ["an empty short name", "tank/a@\tsnapshot\t12\t3\t1700000001\t98304\t4096\t-\t-"],
    ["a non-ASCII short name", "tank/a@sé\tsnapshot\t12\t3\t1700000001\t98304\t4096\t-\t-"],
    ["a name longer than zfs allows", `tank/a@${"x".repeat(250)}\tsnapshot\t12\t3\t1700000001\t98304\t4096\t-\t-`],
    ["a GUID that is not a number", "tank/a@s1\tsnapshot\t-\t3\t1700000001\t98304\t4096\t-\t-"],
    ["a GUID beyond 64 bits", "tank/a@s1\tsnapshot\t18446744073709551616\t3\t1700000001\t98304\t4096\t-\t-"],
    ["a creation beyond 2^53", "tank/a@s1\tsnapshot\t12\t3\t9007199254740993\t98304\t4096\t-\t-"],
    ["a human-readable size", "tank/a@s1\tsnapshot\t12\t3\t1700000001\t96K\t4096\t-\t-"],
    ["an unknown type", "tank/a@s1\tsnap\t12\t3\t1700000001\t98304\t4096\t-\t-"],
    ["too few fields", "tank/a@s1\tsnapshot\t12"],
  ])("%s: as the general path reads it", (_label, line) => {
    const parse = listLineParser(COLUMNS, interner());
    parse(DATASET);
    expect(outcome(parse, line)).toEqual(outcome(general, line));
  });

  test("a version's record: its fields parsed, its dataset named by the dataset line before it", () => {
    const intern = interner();
    const parse = listLineParser(COLUMNS, intern);
    const dataset = parse(DATASET);
    const version = parse("tank/a@s1\tsnapshot\t12\t3\t1700000001\t98304\t4096\t-\t-");
    expect(version as unknown).toEqual({ kind: "version", dataset: "tank/a", version: { kind: "snapshot", name: "s1", guid: 12n, createtxg: 3n, creation: 1700000001, referenced: 98304, written: 4096 } });
    expect(dataset.kind === "dataset" && version.kind === "version" && version.dataset === dataset.dataset.name).toBe(true);
  });
});
