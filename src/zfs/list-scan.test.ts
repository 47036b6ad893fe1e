import { describe, expect, test } from "bun:test";
import { listingScanner } from "./_list-scan.ts";
import { parseOrThrow, tabFields } from "./_parse.ts";
import { interner, makeRecord } from "./_tree-record.ts";
import { rowAt } from "./packed-versions.ts";
import type { TreeRecord } from "./tree-types.ts";

const COLUMNS = ["name", "type", "guid", "createtxg", "creation", "referenced", "written", "snapshots_changed", "receive_resume_token"];
const DATASET = "tank/a\tfilesystem\t11\t2\t1700000000\t98304\t0\t1700000005\t-";

/** Lines after DATASET: those the scanner and the general path both take, and those both refuse. */
const LINES: [string, string][] = [
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
    ["too many fields", "tank/a@s1\tsnapshot\t12\t3\t1700000001\t98304\t4096\t-\t-\t-"],
    ["a GUID of 2^64 - 1", "tank/a@s1\tsnapshot\t18446744073709551615\t3\t1700000001\t98304\t4096\t-\t-"],
    ["a GUID with leading zeros", "tank/a@s1\tsnapshot\t00000000000000000000012\t3\t1700000001\t98304\t4096\t-\t-"],
    ["a createtxg of 2^32", "tank/a@s1\tsnapshot\t12\t4294967296\t1700000001\t98304\t4096\t-\t-"],
    ["an empty createtxg", "tank/a@s1\tsnapshot\t12\t\t1700000001\t98304\t4096\t-\t-"],
    ["a size of 16 digits", "tank/a@s1\tsnapshot\t12\t3\t1700000001\t1234567890123456\t4096\t-\t-"],
    ["a creation of 16 digits", "tank/a@s1\tsnapshot\t12\t3\t0001700000000001\t98304\t4096\t-\t-"],
    ["no written", "tank/a@s1\tsnapshot\t12\t3\t1700000001\t98304\t-\t-\t-"],
    ["a bookmark with a referenced", "tank/a#b1\tbookmark\t12\t3\t1700000001\t98304\t-\t-\t-"],
    ["a bookmark's referenced that is no number", "tank/a#b1\tbookmark\t12\t3\t1700000001\tx\t-\t-\t-"],
    ["a snapshot's written that is no number", "tank/a@s1\tsnapshot\t12\t3\t1700000001\t98304\tx\t-\t-"],
    ["the dataset's name without a mark", "tank/a\tsnapshot\t12\t3\t1700000001\t98304\t4096\t-\t-"],
    ["a short name with a tab's neighbour, a space", "tank/a@s 1\tsnapshot\t12\t3\t1700000001\t98304\t4096\t-\t-"],
];

/** What the scanner makes of `lines` fed as `chunks` cuts them: versions as rows, or the error's message. */
function scanned(text: string, cuts: readonly number[] = []): unknown {
  const scanner = listingScanner(ARGV, COLUMNS, interner());
  const bytes = new TextEncoder().encode(text);
  const out: unknown[] = [];
  const flat = (records: TreeRecord[]) => {
    for (const r of records) {
      if (r.kind === "versions") for (let i = 0; i < r.columns.bookmark.length; i++) out.push({ kind: "version", dataset: r.dataset, version: rowAt(r.columns, i) });
      else out.push(r);
    }
  };
  try {
    let at = 0;
    for (const cut of [...cuts, bytes.length]) {
      flat(scanner.push(bytes.subarray(at, cut)));
      at = cut;
    }
    flat(scanner.end());
  } catch (err) {
    return `${(err as Error).constructor.name}: ${(err as Error).message}`;
  }
  return out;
}

/** What the general path (makeRecord, each line whole) makes of each line, as the listing reports it. */
function parsedByLine(text: string): unknown {
  const intern = interner();
  const out: unknown[] = [];
  try {
    text
      .split("\n")
      .filter((l) => l !== "")
      .forEach((line, i) =>
        out.push(
          parseOrThrow(ARGV, line, i, () => {
            const fields = tabFields(line, COLUMNS.length);
            return makeRecord(fields[0]!, (c) => (COLUMNS.includes(c) ? fields[COLUMNS.indexOf(c)] : undefined), intern);
          }),
        ),
      );
  } catch (err) {
    return `${(err as Error).constructor.name}: ${(err as Error).message}`;
  }
  return out;
}

const ARGV = ["list", "-H", "-p", "-o", COLUMNS.join(","), "-r", "tank"];

describe("listingScanner", () => {
  test.each(LINES)("%s: as the general path reads it", (_label, line) => {
    const text = `${DATASET}\n${line}\n`;
    expect(scanned(text)).toEqual(parsedByLine(text));
  });

  test("a version's record: its fields parsed, its dataset named by the dataset line before it", () => {
    const [dataset, version] = scanned(`${DATASET}\ntank/a@s1\tsnapshot\t12\t3\t1700000001\t98304\t4096\t-\t-\n`) as TreeRecord[];
    expect(version as unknown).toEqual({ kind: "version", dataset: "tank/a", version: { kind: "snapshot", name: "s1", guid: 12n, createtxg: 3n, creation: 1700000001, referenced: 98304, written: 4096 } });
    expect(dataset!.kind === "dataset" && version!.kind === "version" && version!.dataset === dataset!.dataset.name).toBe(true);
  });

  const TREE = [
    DATASET,
    "tank/a@s1\tsnapshot\t12\t3\t1700000001\t98304\t4096\t-\t-",
    "tank/a#b1\tbookmark\t13\t3\t1700000001\t-\t-\t-\t-",
    "tank/a@s2\tsnapshot\t18446744073709551615\t4294967297\t1700000002\t-\t0\t-\t-",
    "tank/a/b\tfilesystem\t14\t4\t1700000002\t98304\t0\t1700000007\t-",
    "tank/a/b@s1\tsnapshot\t15\t5\t1700000003\t98304\t4096\t-\t-",
    "tank/a@late\tsnapshot\t16\t6\t1700000004\t98304\t4096\t-\t-",
    "tank/a/b@s2\tsnapshot\t17\t7\t1700000005\t98304\t4096\t-\t-",
    // A name of the same length as the one at its place in the dataset before, and the same one.
    "tank/c\tfilesystem\t18\t8\t1700000006\t98304\t0\t1700000008\t-",
    "tank/c@s9\tsnapshot\t19\t9\t1700000007\t98304\t4096\t-\t-",
    "tank/c#b1\tbookmark\t20\t9\t1700000007\t-\t-\t-\t-",
  ].join("\n");

  test("a listing cut into chunks at every byte reads as it does whole, with or without its last newline", () => {
    const whole = parsedByLine(TREE);
    expect(whole).toHaveLength(11);
    for (const text of [TREE, `${TREE}\n`]) {
      for (let cut = 0; cut <= text.length; cut++) expect(scanned(text, [cut])).toEqual(whole);
      expect(scanned(text, [...text].map((_, i) => i))).toEqual(whole);
    }
  });

  test("versions right after their dataset come in columns, one run per dataset; any other version as a row", () => {
    const scanner = listingScanner(ARGV, COLUMNS, interner());
    const records = [...scanner.push(new TextEncoder().encode(`${TREE}\n`)), ...scanner.end()];
    expect(records.map((r) => (r.kind === "versions" ? `${r.dataset}: ${r.columns.names.join(",")}` : r.kind === "version" ? `${r.dataset}: row ${r.version.name}` : r.dataset.name))).toEqual([
      "tank/a",
      "tank/a: s1,b1,s2",
      "tank/a/b",
      "tank/a/b: s1",
      "tank/a: row late",
      "tank/a/b: s2",
      "tank/c",
      "tank/c: s9,b1",
    ]);
  });

  test("an error names the line by its number in the whole listing, whatever the chunks", () => {
    const text = `${TREE}\ntank/c@s3\tsnapshot\tx\t10\t1700000008\t98304\t4096\t-\t-\n`;
    const error = parsedByLine(text);
    expect(error).toStartWith("ZfsError: ");
    expect(error).toContain("line 12 ");
    expect(scanned(text, [10, 300, 400])).toEqual(error);
  });
});
