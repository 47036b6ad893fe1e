/**
 * The zfs layer against the real zfs on this machine (zfs-fuse, pool v23), on a throwaway
 * file-backed pool: capabilities, exact guids, and streams moved between two children on pipes.
 * Skipped, with the reason, where zfs-fuse is unusable.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readSync, writeSync } from "node:fs";
import {
  ZfsError,
  ZfsRunner,
  datasetExists,
  detectCapabilities,
  estimateSendSize,
  getResumeToken,
  listFilesystems,
  listTree,
  listHeldVersionsOf,
  listVersions,
  parseDatasetName,
  parseVersionName,
  recvArgv,
  sendArgv,
  startZfsRecv,
  startZfsSend,
  type SendRequest,
} from "../src/zfs/index.ts";
import { closeQuietly } from "../src/sys/pipe.ts";
import { createFilesystem, createTestPool, ensureZfsFuse, mountAt, readFiles, snapshot, writeFiles, zfsCli, type TestPool } from "./harness/pool.ts";
import { ZFS_FUSE_CAPABILITIES } from "./helpers/zfs-fuse-capabilities.ts";

const fuse = await ensureZfsFuse();
if (!fuse.ok) console.warn(`zfs-fuse tests skipped: ${fuse.reason}`);

describe.skipIf(!fuse.ok)("zfs layer on zfs-fuse", () => {
  const runner = new ZfsRunner();
  let pool: TestPool;
  let src: string;

  beforeAll(async () => {
    pool = await createTestPool("zft");
    src = await createFilesystem(pool, "src");
    writeFiles(`${pool.mountpoint}/src`, { "a.txt": "first\n", "dir/b.bin": "x".repeat(100_000) });
    await snapshot(src, "s1");
    writeFiles(`${pool.mountpoint}/src`, { "a.txt": "second\n", "dir/c.txt": "new in s2\n" });
    await snapshot(src, "s2");
  });
  afterAll(async () => {
    await pool?.[Symbol.asyncDispose]();
  });

  test("detectCapabilities sees an old zfs: no list -p, bookmarks, resume or recv -u", async () => {
    expect(await detectCapabilities("zfs")).toEqual(ZFS_FUSE_CAPABILITIES);
  });

  test("listVersions takes guids from zfs get -p, exactly equal to `zfs get -Hp guid`", async () => {
    const versions = await listVersions(runner, parseDatasetName(src));
    expect(versions.map((x) => x.name.full)).toEqual([`${src}@s1`, `${src}@s2`]);
    for (const version of versions) {
      const guid = (await zfsCli(["get", "-Hp", "-o", "value", "guid", version.name.full])).trim();
      const txg = (await zfsCli(["get", "-Hp", "-o", "value", "createtxg", version.name.full])).trim();
      expect([version.guid, version.createtxg]).toEqual([BigInt(guid), BigInt(txg)]);
      expect(version.guid > 0n && version.creation > 1_600_000_000).toBe(true);
    }
    expect(versions[0]!.createtxg < versions[1]!.createtxg).toBe(true);
  });

  test("listVersions is one zfs command, and a parent's leaves its children's snapshots out", async () => {
    const calls: string[][] = [];
    const counting = Object.assign(Object.create(runner) as ZfsRunner, { run: (argv: string[], options?: object) => (calls.push(argv), runner.run(argv, options)) });
    await runner.capabilities();
    expect(await listVersions(counting, parseDatasetName(pool.name))).toEqual([]);
    expect((await listVersions(counting, parseDatasetName(src))).map((x) => x.name.full)).toEqual([`${src}@s1`, `${src}@s2`]);
    expect(calls.map((argv) => argv[0])).toEqual(["get", "get"]);
  });

  test("listHeldVersionsOf lists several datasets in one zfs get, each with its own snapshots and hold counts; a missing one fails it", async () => {
    const calls: string[][] = [];
    const counting = Object.assign(Object.create(runner) as ZfsRunner, { run: (argv: string[], options?: object) => (calls.push(argv), runner.run(argv, options)) });
    await zfsCli(["hold", "t1", `${src}@s2`]);
    try {
      const listed = await listHeldVersionsOf(counting, [src, pool.name].map((n) => parseDatasetName(n)));
      expect([...listed].map(([ds, versions]) => [ds as string, versions.map((v) => [v.name.name as string, v.userrefs])])).toEqual([
        [src, [["s1", 0], ["s2", 1]]],
        [pool.name, []],
      ]);
      expect(calls.map((argv) => argv[0])).toEqual(["get"]);
      const error = (await listHeldVersionsOf(runner, [src, `${pool.name}/nope`].map((n) => parseDatasetName(n))).catch((e: unknown) => e)) as ZfsError;
      expect([error instanceof ZfsError, error.isDatasetMissing]).toEqual([true, true]);
    } finally {
      await zfsCli(["release", "t1", `${src}@s2`]);
    }
  });

  test("listFilesystems, datasetExists and a missing dataset", async () => {
    expect(await listFilesystems(runner, parseDatasetName(pool.name))).toEqual([pool.name, src] as never);
    expect(await datasetExists(runner, parseDatasetName(`${pool.name}/nope`))).toBe(false);
    const error = (await listVersions(runner, parseDatasetName(`${pool.name}/nope`)).catch((e: unknown) => e)) as ZfsError;
    expect(error).toBeInstanceOf(ZfsError);
    expect([error.exitCode, error.isDatasetMissing]).toEqual([1, true]);
  });

  test("listTree on zfs-fuse: every filesystem once, no snapshot lines, no tokens", async () => {
    expect(await listTree(runner, parseDatasetName(pool.name))).toEqual([
      { name: pool.name, placeholder: false, resumeToken: null },
      { name: src, placeholder: false, resumeToken: null },
    ] as never);
  });

  test("features zfs-fuse lacks answer null instead of failing", async () => {
    expect(await getResumeToken(runner, parseDatasetName(src))).toBeNull();
    expect(await estimateSendSize(runner, { to: parseVersionName(`${src}@s1`) })).toBeNull();
  });

  test("a full and an incremental stream move between two children and the files match", async () => {
    const caps = await runner.capabilities();
    const dst = parseDatasetName(`${pool.name}/dst`);
    const move = async (request: SendRequest) => {
      const send = startZfsSend("zfs", sendArgv(request, caps));
      const recv = startZfsRecv("zfs", recvArgv({ target: dst }, caps));
      let bytes = 0;
      try {
        const buf = Buffer.allocUnsafe(1 << 20);
        for (let n; (n = readSync(send.readFd, buf, 0, buf.length, null)) > 0; bytes += n) {
          for (let off = 0; off < n; ) off += writeSync(recv.writeFd, buf, off, n - off);
        }
      } finally {
        closeQuietly(send.readFd);
        closeQuietly(recv.writeFd);
      }
      const [s, r] = [await send.done(), await recv.done()];
      expect([s.exitCode, r.exitCode, r.stderrTail]).toEqual([0, 0, ""]);
      return bytes;
    };

    expect(await move({ to: parseVersionName(`${src}@s1`) })).toBeGreaterThan(100_000);
    // As zrepl does after an initial receive: reading the files must not count as a modification
    // (atime), or the incremental receive fails with "has been modified since most recent snapshot".
    await zfsCli(["set", "readonly=on", dst]);
    const mnt = await mountAt(pool, dst, "dst");
    expect(readFiles(mnt)).toEqual({ "a.txt": "first\n", "dir/b.bin": "x".repeat(100_000) });

    expect(await move({ to: parseVersionName(`${src}@s2`), from: parseVersionName(`${src}@s1`) })).toBeGreaterThan(0);
    expect(readFiles(mnt)).toEqual(readFiles(`${pool.mountpoint}/src`));
    const guids = async (name: string) => (await listVersions(runner, parseDatasetName(name))).map((x) => [x.name.name, x.guid]);
    expect(await guids(dst)).toEqual(await guids(src));
  });
});
