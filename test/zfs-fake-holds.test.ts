/**
 * The fake zfs's holds: `hold`, `release`, `holds`, `userrefs`, and `destroy fs@a,b,c` refusing
 * held snapshots, with OpenZFS 2.2's messages and exit codes.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { createFakeZfs, type FakeZfs } from "./fake-zfs/fixture.ts";

let fake: FakeZfs;
beforeEach(() => {
  fake = createFakeZfs({ datasets: ["tank/a@s1", "tank/a@s2", "tank/a@s3", "tank/a/c@s1"], env: { FAKE_ZFS_NOW: "1764585000" } });
});
afterEach(() => fake[Symbol.dispose]());

async function zfs(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  await using proc = Bun.spawn([fake.bin, ...argv], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([proc.stdout.text(), proc.stderr.text(), proc.exited]);
  return { code, stdout, stderr };
}

test("hold adds a tag, a second hold of the same tag fails, userrefs counts them", async () => {
  expect(await zfs("hold", "zferry_b1", "tank/a@s1")).toEqual({ code: 0, stdout: "", stderr: "" });
  expect(await zfs("hold", "zferry_b1", "tank/a@s1")).toEqual({ code: 1, stdout: "", stderr: "cannot hold snapshot 'tank/a@s1': tag already exists on this dataset\n" });
  expect((await zfs("hold", "other", "tank/a@s1")).code).toBe(0);
  expect((await zfs("get", "-H", "-p", "-o", "name,value", "userrefs", "tank/a@s1", "tank/a@s2", "tank/a")).stdout).toBe("tank/a\t-\ntank/a@s1\t2\ntank/a@s2\t0\n");
});

test("holds lists name, tag and time, -H tab-separated, -p in seconds", async () => {
  await zfs("hold", "zferry_b1", "tank/a@s1");
  expect((await zfs("holds", "-H", "-p", "tank/a@s1", "tank/a@s2")).stdout).toBe("tank/a@s1\tzferry_b1\t1764585000\n");
  expect((await zfs("holds", "tank/a@s1")).stdout).toMatch(/^NAME       TAG        TIMESTAMP\ntank\/a@s1  zferry_b1  \w{3} \w{3} [ \d]\d \d\d:\d\d \d{4}\n$/);
});

test("release removes a tag; releasing a missing tag says so and exits 1", async () => {
  await zfs("hold", "zferry_b1", "tank/a@s1");
  expect((await zfs("release", "zferry_b1", "tank/a@s1")).code).toBe(0);
  expect(await zfs("release", "zferry_b1", "tank/a@s1")).toEqual({ code: 1, stdout: "", stderr: "cannot release hold from snapshot 'tank/a@s1': no such tag on this dataset\n" });
  expect(await zfs("hold", "t", "tank/a@nope")).toEqual({ code: 1, stdout: "", stderr: "cannot hold snapshot 'tank/a@nope': dataset does not exist\n" });
  expect(await zfs("hold", "t", "tank/a")).toEqual({ code: 1, stdout: "", stderr: "'tank/a' is not a snapshot\n" });
});

test("destroy fs@a,b,c destroys several snapshots in one call, skipping missing names", async () => {
  expect(await zfs("destroy", "tank/a@s1,s2,gone")).toEqual({ code: 0, stdout: "", stderr: "" });
  expect(Object.keys(fake.state().datasets["tank/a"]!.snapshots)).toEqual(["s3"]);
  expect(await zfs("destroy", "tank/a@gone,also")).toEqual({ code: 1, stdout: "", stderr: "could not find any snapshots to destroy; check snapshot names.\n" });
});

test("destroy of a list with a held snapshot destroys nothing and names the held one", async () => {
  await zfs("hold", "other-tool", "tank/a@s2");
  expect(await zfs("destroy", "tank/a@s1,s2,s3")).toEqual({ code: 1, stdout: "", stderr: "cannot destroy snapshot tank/a@s2: dataset is busy\n" });
  expect(Object.keys(fake.state().datasets["tank/a"]!.snapshots)).toEqual(["s1", "s2", "s3"]);
});

test("snapshot with several names makes them all in one txg", async () => {
  expect((await zfs("snapshot", "tank/a@n1", "tank/a/c@n1")).code).toBe(0);
  const { datasets } = fake.state();
  expect(datasets["tank/a"]!.snapshots.n1!.createtxg).toBe(datasets["tank/a/c"]!.snapshots.n1!.createtxg);
});
