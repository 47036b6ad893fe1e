/**
 * decodeStreamHeader on real stream headers: the first record of each kind of `zfs send` that
 * zfs-fuse (pool v23) writes, generated here on a throwaway pool. Skipped where zfs-fuse is unusable.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { STREAM_HEADER_BYTES, decodeStreamHeader } from "../src/zfs/index.ts";
import { createFilesystem, createTestPool, ensureZfsFuse, snapshot, writeFiles, zfsCli, type TestPool } from "./harness/pool.ts";

const fuse = await ensureZfsFuse();
if (!fuse.ok) console.warn(`stream header tests skipped: ${fuse.reason}`);

/** The first STREAM_HEADER_BYTES bytes of `zfs send ARGS`. */
async function firstRecord(args: string[]): Promise<Uint8Array> {
  await using proc = Bun.spawn(["zfs", "send", ...args], { stdout: "pipe", stderr: "pipe" });
  const [bytes, stderr, code] = await Promise.all([proc.stdout.bytes(), proc.stderr.text(), proc.exited]);
  if (code !== 0) throw new Error(`zfs send ${args.join(" ")}: exit ${code}: ${stderr}`);
  return bytes.subarray(0, STREAM_HEADER_BYTES);
}

async function guidOf(snapshotName: string): Promise<bigint> {
  return BigInt((await zfsCli(["get", "-H", "-p", "-o", "value", "guid", snapshotName])).trim());
}

describe.skipIf(!fuse.ok)("decodeStreamHeader on zfs-fuse's own streams", () => {
  let pool: TestPool;
  let fs: string;

  beforeAll(async () => {
    pool = await createTestPool("zfhdr");
    fs = await createFilesystem(pool, "src");
    writeFiles(`${pool.mountpoint}/src`, { "a.txt": "alpha\n" });
    await snapshot(fs, "s1");
    writeFiles(`${pool.mountpoint}/src`, { "b.txt": "beta\n" });
    await snapshot(fs, "s2");
  }, 60_000);

  afterAll(async () => {
    await pool?.[Symbol.asyncDispose]();
  }, 60_000);

  test.each([
    ["a full send", (fs: string) => [`${fs}@s1`], "substream", false],
    ["an incremental send (-i)", (fs: string) => ["-i", `${fs}@s1`, `${fs}@s2`], "substream", true],
    // zfs-fuse packs -I into a compound stream (OpenZFS writes substreams); zferry sends one -i per step.
    ["an incremental send of intermediates (-I)", (fs: string) => ["-I", `${fs}@s1`, `${fs}@s2`], "compound", true],
    ["a send with properties (-p)", (fs: string) => ["-p", `${fs}@s1`], "compound", false],
    ["an incremental send with properties (-p -i)", (fs: string) => ["-p", "-i", `${fs}@s1`, `${fs}@s2`], "compound", true],
    ["a replication stream (-R)", (fs: string) => ["-R", `${fs}@s2`], "compound", false],
  ] as const)("%s", async (_, argv, kind, incremental) => {
    const [header, next] = decodeStreamHeader(await firstRecord(argv(fs)));
    expect(next).toBe(STREAM_HEADER_BYTES);
    expect(header.kind).toBe(kind);
    expect(header.littleEndian).toBe(new Uint8Array(new Uint16Array([1]).buffer)[0] === 1); // written in this host's order
    if (kind === "substream") {
      // A substream's BEGIN names the snapshot; a compound stream's outer BEGIN only the package.
      const to = incremental ? `${fs}@${argv(fs).at(-1)!.split("@")[1]}` : argv(fs).at(-1)!;
      expect(header.toname).toBe(to);
      expect(header.toguid).toBe(await guidOf(to));
      expect(header.fromguid).toBe(incremental ? await guidOf(`${fs}@s1`) : 0n);
      expect(header.payloadBytes).toBe(0);
    } else if (argv(fs)[0] !== "-I") {
      expect(header.payloadBytes).toBeGreaterThan(0); // the properties nvlist follows the record
    }
  });
});
