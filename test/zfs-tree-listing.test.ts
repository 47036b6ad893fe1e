/**
 * src/zfs/tree-listing.ts's ways of narrowing a listing, on the fake OpenZFS (`zfs list -p`) and on
 * this machine's zfs-fuse (`zfs get -p`): several roots of which one does not exist, each root
 * alone with its versions (`-d 1`), and datasets without versions.
 */
import { expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ZfsError, ZfsRunner, parseDatasetName, readTree, type DatasetName } from "../src/zfs/index.ts";
import { createFakeZfs } from "./fake-zfs/fixture.ts";
import { createTestPool, ensureZfsFuse, zfsCli } from "./harness/pool.ts";

const fuse = await ensureZfsFuse();

/** `root` holds a (with a@s1 and a child c, with c@s1) and b (with b@s1). */
async function narrowing(runner: ZfsRunner, root: string): Promise<void> {
  const ds = (rel: string) => parseDatasetName(`${root}/${rel}`);
  const missing = ds("nope");
  const summary = (tree: Awaited<ReturnType<typeof readTree>>) =>
    Object.fromEntries([...tree].map(([name, node]) => [name.slice(root.length + 1), node.versions.map((v) => String(v.name.name))]));

  // A root that does not exist holds nothing; without the option the listing fails.
  const both = await readTree(runner, [ds("a"), missing, ds("b")], { missingRootsOk: true });
  expect(summary(both)).toEqual({ a: ["s1"], "a/c": ["s1"], b: ["s1"] });
  expect(await readTree(runner, [ds("a"), missing]).catch((e: unknown) => e)).toBeInstanceOf(ZfsError);

  // Each root alone: its own versions, not its child's.
  const only = await readTree(runner, [ds("a"), ds("b"), missing] as DatasetName[], { rootsOnly: true, missingRootsOk: true });
  expect(summary(only)).toEqual({ a: ["s1"], b: ["s1"] });

  // Datasets alone, with their own GUIDs.
  const datasets = await readTree(runner, parseDatasetName(root), { versions: false });
  expect(summary(datasets)).toEqual({ "": [], a: [], "a/c": [], b: [] });
  for (const node of [...datasets.values()].slice(1)) expect(node.dataset.guid).toBeGreaterThan(0n);
}

test("narrowed listings on the fake OpenZFS", async () => {
  using fake = createFakeZfs({ datasets: ["tank/r/a@s1", "tank/r/a/c@s1", "tank/r/b@s1"] });
  await narrowing(new ZfsRunner({ bin: fake.bin }), "tank/r");
});

test.skipIf(!fuse.ok)("narrowed listings on zfs-fuse", async () => {
  await using pool = await createTestPool("zftree");
  const r = `${pool.name}/r`;
  for (const d of [r, `${r}/a`, `${r}/a/c`, `${r}/b`]) await zfsCli(["create", "-o", "mountpoint=none", d]);
  for (const d of [`${r}/a`, `${r}/a/c`, `${r}/b`]) await zfsCli(["snapshot", `${d}@s1`]);
  await narrowing(new ZfsRunner(), r);
});

test.skipIf(!fuse.ok)("datasets alone on zfs-fuse, whose zfs get has no -t: their names first, then zfs get of those by name, which reads no snapshot", async () => {
  await using pool = await createTestPool("zftree");
  const r = `${pool.name}/r`;
  for (const d of [r, `${r}/a`, `${r}/b`]) await zfsCli(["create", "-o", "mountpoint=none", d]);
  await zfsCli(["set", "readonly=on", `${r}/a`]);
  for (const d of [`${r}/a`, `${r}/b`]) await zfsCli(["snapshot", `${d}@s1`]);
  const dir = mkdtempSync(join(tmpdir(), "zferry-zfs-log-"));
  try {
    const log = join(dir, "argv.log");
    const bin = join(dir, "zfs");
    writeFileSync(bin, `#!/bin/sh
echo "$*" >> ${log}
exec ${Bun.which("zfs")} "$@"
`);
    chmodSync(bin, 0o755);
    const runner = new ZfsRunner({ bin });
    await runner.capabilities();
    writeFileSync(log, "");
    const tree = await readTree(runner, parseDatasetName(r), { versions: false, placeholders: true, properties: ["readonly"] });
    expect([...tree.keys()]).toEqual([r, `${r}/a`, `${r}/b`]);
    expect([...tree.values()].map((n) => [n.versions.length, n.dataset.properties?.get("readonly")?.value])).toEqual([[0, "off"], [0, "on"], [0, "off"]]);
    expect(readFileSync(log, "utf8").trim().split("\n")).toEqual([
      `list -H -t filesystem,volume -o name -r ${r}`,
      `get -H -p -d 0 -o name,property,value,source type,guid,createtxg,creation,referenced,readonly,zferry:placeholder ${r} ${r}/a ${r}/b`,
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a version's sizes are numbers: exact where they fit, rounded past 2^53 bytes (they only estimate)", async () => {
  using fake = createFakeZfs({ datasets: ["tank/r/a@s1", "tank/r/b@s1"] });
  const state = fake.state();
  state.datasets["tank/r/b"]!.referenced = 2 ** 60 + 1;
  fake.setState(state);
  const tree = await readTree(new ZfsRunner({ bin: fake.bin }), parseDatasetName("tank/r"));
  const [a] = tree.get("tank/r/a")!.versions;
  const [b] = tree.get("tank/r/b")!.versions;
  expect([a!.referenced, a!.written]).toEqual([98_304, 65_536]);
  expect(b!.referenced).toBe(2 ** 60);
  expect(typeof b!.guid).toBe("bigint");
});

test("sizes: false lists no referenced or written (a receiving side's listing), and its versions have none", async () => {
  using fake = createFakeZfs({ datasets: ["tank/r/a@s1"] });
  const tree = await readTree(new ZfsRunner({ bin: fake.bin }), parseDatasetName("tank/r"), { sizes: false });
  const [a] = tree.get("tank/r/a")!.versions;
  expect([a!.name.full, a!.referenced, a!.written]).toEqual(["tank/r/a@s1", null, null]);
  const columns = fake.calls().find((argv) => argv[0] === "list")!;
  expect(columns[columns.indexOf("-o") + 1]!.split(",")).not.toContain("written");
  expect(columns[columns.indexOf("-o") + 1]!.split(",")).not.toContain("referenced");
});
