/**
 * The fake's streamed listing (fake-zfs/entity-stream.ts, over a sorted state file) prints what
 * its general path prints for the same pool: the same lines in zfs's order, the same errors and
 * exit status, for every depth, type and operand form it takes.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { streamEntities } from "./fake-zfs/entity-stream.ts";
import { createFakeZfs } from "./fake-zfs/fixture.ts";

// Names that sort between a dataset and its children ("tank/a-b", "tank/a.c" < "tank/a/b"), a
// second pool, bookmarks, and properties set and inherited.
const fake = createFakeZfs({
  datasets: ["tank/a@s1", "tank/a@s2", "tank/a#b1", "tank/a/b@s3", "tank/a/b/c@s4", "tank/a-b@s5", "tank/a.c", "tank/z@s6", "other/x@s7"],
  env: { FAKE_ZFS_NOW: "1700000000" },
});
afterAll(() => fake[Symbol.dispose]());

async function zfs(...argv: string[]) {
  const p = Bun.spawn([fake.bin, ...argv], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([p.stdout.text(), p.stderr.text(), p.exited]);
  return { stdout, stderr, code };
}

await zfs("set", "mountpoint=/srv/a", "tank/a");
await zfs("set", "readonly=on", "tank/a/b");
const state = fake.state();

/** The same command on the sorted file (streamed) and on the same state as one JSON object (general path). */
async function bothWays(argv: string[]) {
  fake.setState(state);
  const streamed = await zfs(...argv);
  writeFileSync(fake.statePath, JSON.stringify(state));
  const general = await zfs(...argv);
  fake.setState(state);
  return { streamed, general };
}

const COMMANDS: string[][] = [
  ["list", "-H", "-r", "tank"],
  ["list", "-H", "-p", "-t", "all", "-o", "name,type,guid,createtxg,creation,written,userrefs", "-r", "tank"],
  ["list", "-H", "-t", "filesystem,volume,snapshot,bookmark", "-o", "name,mountpoint,readonly", "-r", "tank/a"],
  ["list", "-H", "-d", "1", "tank"],
  ["list", "-H", "-t", "all", "-d", "1", "tank/a"],
  ["list", "-H", "tank/a"],
  ["list", "-H", "-t", "snapshot", "tank/a"],
  ["list", "-H", "-t", "bookmark", "-r", "tank"],
  ["list", "-H", "-r", "tank/a", "tank"],
  ["list", "-H", "-t", "all", "-r", "tank/a/b", "other"],
  ["list", "-H", "-r", "tank/nosuch", "tank/a", "nosuchpool"],
  ["list", "-H"],
  ["list", "-H", "-t", "all"],
  ["get", "-H", "-r", "-t", "filesystem,volume", "-s", "local,received", "-o", "name,property,value,source", "mountpoint,readonly", "tank"],
  ["get", "-H", "-p", "all", "tank/a/b"],
  ["get", "-H", "-r", "mountpoint", "tank/a"],
  ["get", "-H", "-d", "1", "-o", "name,value", "readonly", "tank"],
  ["get", "-H", "-r", "readonly", "nosuch", "tank/a/b"],
];

describe("the fake's streamed listing", () => {
  test.each(COMMANDS.map((argv) => [argv.join(" "), argv]))("%s: as the general path prints it", async (_, argv) => {
    const { streamed, general } = await bothWays(argv as string[]);
    expect(streamed).toEqual(general);
    expect(streamed.stdout + streamed.stderr).not.toBe("");
  });

  test("lists in zfs's order: a dataset, its snapshots, its bookmarks, then the next name by strcmp", async () => {
    const { stdout } = await zfs("list", "-H", "-t", "all", "-o", "name", "-r", "tank");
    expect(stdout.trim().split("\n")).toEqual([
      "tank",
      "tank/a",
      "tank/a@s1",
      "tank/a@s2",
      "tank/a#b1",
      "tank/a-b",
      "tank/a-b@s5",
      "tank/a.c",
      "tank/a/b",
      "tank/a/b@s3",
      "tank/a/b/c",
      "tank/a/b/c@s4",
      "tank/z",
      "tank/z@s6",
    ]);
  });

  test("is the path a sorted state file takes, and a state file of another form does not", () => {
    fake.setState(state);
    expect(streamEntities(["tank"], { depth: 1, kinds: ["filesystem"] }, fake.statePath)).not.toBeNull();
    expect(streamEntities(["tank/a@s1"], { depth: 1, kinds: ["filesystem"] }, fake.statePath)).toBeNull();
    writeFileSync(fake.statePath, JSON.stringify(state));
    expect(streamEntities(["tank"], { depth: 1, kinds: ["filesystem"] }, fake.statePath)).toBeNull();
    fake.setState(state);
  });
});
