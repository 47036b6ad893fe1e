/**
 * src/zfs/holds.ts and snapshots.ts against the fake OpenZFS 2.2 zfs (batched calls) and against
 * this machine's zfs-fuse (one call per name, `userrefs` instead of `zfs holds`).
 */
import { expect, test } from "bun:test";
import { ZfsError, ZfsRunner, createSnapshots, destroySnapshots, holdCounts, holdTag, listHeldVersions, parseDatasetName, parseVersionName, parseVersionShortName, placeHold, placeHolds, releaseHold, releaseHolds } from "../src/zfs/index.ts";
import { createFakeZfs } from "./fake-zfs/fixture.ts";
import { createFilesystem, createTestPool, ensureZfsFuse } from "./harness/pool.ts";

const fuse = await ensureZfsFuse();
const v = parseVersionName;
const short = (s: string) => parseVersionShortName(s);

/** The same checks on any zfs: `root` holds filesystems a and b. */
async function holdsCycle(runner: ZfsRunner, a: string, b: string): Promise<void> {
  const tag = holdTag("b1");
  await createSnapshots(runner, [parseDatasetName(a), parseDatasetName(b)], { name: short("zferry_20261201T103000Z") });
  await createSnapshots(runner, [parseDatasetName(a)], { name: short("zferry_20261201T113000Z") });
  const s1 = v(`${a}@zferry_20261201T103000Z`);
  const s2 = v(`${a}@zferry_20261201T113000Z`);
  await placeHold(runner, s1, { tag });
  await placeHold(runner, s1, { tag }); // already there: done
  expect(await holdCounts(runner, [s1, s2])).toEqual(new Map([[s1.full, 1], [s2.full, 0]]));
  // The listing reads the same counts in the same command.
  const listed = await listHeldVersions(runner, parseDatasetName(a));
  expect(listed.map((x) => [x.name.full, x.userrefs])).toEqual([[s1.full, 1], [s2.full, 0]]);
  // A held snapshot is refused, and nothing in the same call is destroyed where zfs batches.
  const refused = await destroySnapshots(runner, parseDatasetName(a), { names: [short("zferry_20261201T103000Z")] }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(ZfsError);
  expect((refused as ZfsError).stderr).toContain("dataset is busy");
  expect(await releaseHold(runner, s1, { tag })).toBe(true);
  expect(await releaseHold(runner, s1, { tag })).toBe(false);
  // Many at once: a snapshot that is gone is told apart, the others are held (one already was).
  const s3 = v(`${b}@zferry_20261201T103000Z`);
  const gone = v(`${b}@gone`);
  await placeHold(runner, s2, { tag });
  const notHeld = await placeHolds(runner, [s1, gone, s2, s3], { tag });
  expect([...notHeld.keys()]).toEqual([gone.full]);
  expect(notHeld.get(gone.full)!.isDatasetMissing).toBe(true);
  expect(await holdCounts(runner, [s1, s2, s3])).toEqual(new Map([[s1.full, 1], [s2.full, 1], [s3.full, 1]]));
  // Released all at once; one without the tag (or gone) is passed over.
  await releaseHold(runner, s3, { tag });
  await releaseHolds(runner, [s1, s3, gone, s2], { tag });
  expect(await holdCounts(runner, [s1, s2, s3])).toEqual(new Map([[s1.full, 0], [s2.full, 0], [s3.full, 0]]));
  await destroySnapshots(runner, parseDatasetName(a), { names: [short("zferry_20261201T103000Z"), short("zferry_20261201T113000Z")] });
  expect(await runner.run(["list", "-H", "-o", "name", "-t", "snapshot", "-r", a])).toBe("");
  expect(await runner.run(["list", "-H", "-o", "name", "-t", "snapshot", "-r", b])).toBe(`${b}@zferry_20261201T103000Z\n`);
}

test("holds and batched snapshot/destroy on the fake OpenZFS: one call each", async () => {
  using fake = createFakeZfs({ datasets: ["tank/a", "tank/b"] });
  await holdsCycle(new ZfsRunner({ bin: fake.bin }), "tank/a", "tank/b");
  const calls = fake.calls().filter((c) => c[0] === "snapshot" || c[0] === "destroy");
  expect(calls).toContainEqual(["snapshot", "tank/a@zferry_20261201T103000Z", "tank/b@zferry_20261201T103000Z"]);
  expect(calls).toContainEqual(["destroy", "tank/a@zferry_20261201T103000Z,zferry_20261201T113000Z"]);
});

test("listHeldVersions on OpenZFS: one `zfs list` with userrefs; a bookmark counts 0 holds", async () => {
  using fake = createFakeZfs({ datasets: ["tank/a@s1", "tank/a@s2"] });
  const runner = new ZfsRunner({ bin: fake.bin });
  await runner.run(["bookmark", "tank/a@s1", "tank/a#b1"]);
  await placeHold(runner, v("tank/a@s2"), { tag: holdTag("b1") });
  await placeHold(runner, v("tank/a@s2"), { tag: holdTag("b2") });
  await runner.capabilities(); // probed once a runner, before this
  const before = fake.calls().length;
  const listed = await listHeldVersions(runner, parseDatasetName("tank/a"));
  expect(listed.map((x) => [x.name.full, x.userrefs])).toEqual([["tank/a#b1", 0], ["tank/a@s1", 0], ["tank/a@s2", 2]]);
  expect(fake.calls().slice(before)).toEqual([["list", "-H", "-p", "-o", "name,guid,createtxg,creation,userrefs", "-t", "snapshot,bookmark", "-d", "1", "-s", "createtxg", "tank/a"]]);
});

test("listHeldVersions refuses a hold count that is not one", async () => {
  using fake = createFakeZfs({ datasets: ["tank/a@s1"] });
  const out = "tank/a@s1\t1\t2\t3\t-\n";
  const runner = new ZfsRunner({ bin: fake.bin });
  const stub = Object.assign(Object.create(runner) as ZfsRunner, { run: async () => out });
  const error = await listHeldVersions(stub, parseDatasetName("tank/a")).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ZfsError);
  expect((error as ZfsError).message).toContain('userrefs "-" is not a count');
});

test.skipIf(!fuse.ok)("holds and snapshot/destroy on zfs-fuse: one name per call, userrefs counts holds", async () => {
  await using pool = await createTestPool("zfh");
  const a = await createFilesystem(pool, "a");
  const b = await createFilesystem(pool, "b");
  await holdsCycle(new ZfsRunner(), a, b);
});

test.skipIf(!fuse.ok)("on zfs-fuse (a name an ioctl) snapshots, holds and releases of many run side by side, at most four commands at once", async () => {
  await using pool = await createTestPool("zfh");
  const names = await Promise.all(Array.from({ length: 9 }, (_, i) => createFilesystem(pool, `f${i}`)));
  const runner = new ZfsRunner();
  const running = { now: 0, most: 0 };
  const calls: string[][] = [];
  const counting = Object.assign(Object.create(runner) as ZfsRunner, {
    run: async (argv: string[], options?: object) => {
      calls.push(argv);
      running.most = Math.max(running.most, ++running.now);
      try {
        return await runner.run(argv, options);
      } finally {
        running.now--;
      }
    },
  });
  const tag = holdTag("b1");
  await createSnapshots(counting, names.map((n) => parseDatasetName(n)), { name: short("zferry_20261201T103000Z") });
  const snapshots = names.map((n) => v(`${n}@zferry_20261201T103000Z`));
  expect(await placeHolds(counting, snapshots, { tag })).toEqual(new Map());
  await releaseHolds(counting, snapshots, { tag });
  // 9 snapshots, four at a time; 9 holds split four ways (ceil(9 / 4) = 3 a command: three commands), the releases alike.
  expect(calls.map((c) => [c[0], c.length])).toEqual([
    ...Array.from({ length: 9 }, () => ["snapshot", 2]),
    ...Array.from({ length: 3 }, () => ["hold", 5]),
    ...Array.from({ length: 3 }, () => ["release", 5]),
  ]);
  expect(running.most).toBe(4);
  expect(await holdCounts(runner, snapshots)).toEqual(new Map(snapshots.map((s) => [s.full, 0])));
});

test("holdTag names the identity and refuses what zfs would not take", () => {
  expect(holdTag("backup1")).toBe("zferry_backup1");
  expect(() => holdTag("a b")).toThrow(TypeError);
});
