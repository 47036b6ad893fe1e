/**
 * Parallel filesystems end to end: `zferry pull` / `push` of a wide nested tree with
 * concurrency 4 through a real sshd (forced command `zferry stdinserver`) on zfs-fuse. Parents
 * arrive before children, workers share ssh connections as `sessions_per_connection` says (counted
 * as authentications in sshd's log), a filesystem that fails leaves the others done, and a run killed midway is completed by
 * the next one.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, connectToml, tomlTable, zferry } from "./harness/cli.ts";
import { canRunSshd, startSshd, type Sshd } from "./harness/sshd.ts";
import { createTestPool, ensureZfsFuse, snapshot, zfsCli, type TestPool } from "./harness/pool.ts";

const TIMEOUT_MS = 120_000;
const fuse = await ensureZfsFuse();
const ready = fuse.ok && canRunSshd();
if (!ready) console.warn(`e2e parallel skipped: ${fuse.ok ? "needs root and /usr/sbin/sshd" : fuse.reason}`);

/** The tree: parents and children, siblings, and one filesystem whose parent is not replicated. */
const TREE = ["w", "w/a", "w/a/x", "w/a/y", "w/b", "w/b/z", "w/c", "w/d", "w/e", "q/only"];

/** Snapshot name → GUID of every snapshot below `root`, keyed by path relative to it. */
async function snapshotGuids(root: string): Promise<Record<string, string>> {
  const out = await zfsCli(["get", "-H", "-p", "-r", "-o", "name,value", "guid", root]);
  const guids: Record<string, string> = {};
  for (const line of out.split("\n").filter(Boolean)) {
    const [name, value] = line.split("\t") as [string, string];
    if (name.includes("@")) guids[name.slice(root.length + 1)] = value;
  }
  return guids;
}

describe.skipIf(!ready)("parallel filesystems over ssh (zfs-fuse, concurrency 4)", () => {
  let dir: string;
  let src: TestPool;
  let dst: TestPool;
  let sshd: Sshd;
  let clientToml: string;
  const ds = (rel: string) => `${src.name}/${rel}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "zferry-e2e-parallel-"));
    src = await createTestPool("zfpar");
    dst = await createTestPool("zfpar");
    await zfsCli(["create", "-o", "mountpoint=none", ds("q")]);
    for (const rel of TREE) await zfsCli(["create", "-o", `mountpoint=${join(src.mountpoint, rel.replaceAll("/", "-"))}`, ds(rel)]);
    writeFileSync(join(src.mountpoint, "w-c", "big.bin"), randomBytes(48 << 20)); // long enough to kill a run in it
    for (const rel of TREE) await snapshot(ds(rel), "s1");
    await zfsCli(["create", "-o", "mountpoint=none", `${dst.name}/back`]);
    await zfsCli(["create", "-o", "mountpoint=none", `${dst.name}/sink`]);

    const zfsBin = Bun.which("zfs") ?? "/usr/sbin/zfs";
    const serverToml = join(dir, "server.toml");
    writeFileSync(
      serverToml,
      [
        `[zfs]\nbin = ${JSON.stringify(zfsBin)}\n`,
        `[log]\nlevel = "warn"\n`,
        `[clients.b1]\nfilesystems = ${tomlTable({ [`${src.name}/w<`]: true, [`${src.name}/q/only`]: true })}\nreceive_root = ${JSON.stringify(`${dst.name}/sink`)}\n`,
        `[locks]\ndir = ${JSON.stringify(join(dir, "server-locks"))}\n`,
      ].join("\n"),
    );
    sshd = await startSshd([{ command: `env ZFERRY_CONFIG=${serverToml} ${process.execPath} ${CLI} stdinserver b1` }]);
    clientToml = join(dir, "client.toml");
    const connect = connectToml(sshd.sshConnect(0));
    // The pull puts all four workers on one connection; the push keeps the default, two per connection.
    const connectOne = connectToml({ ...sshd.sshConnect(0), sessions_per_connection: 4 });
    writeFileSync(
      clientToml,
      [
        `[locks]\ndir = ${JSON.stringify(join(dir, "client-locks"))}\n`,
        `[jobs.wide]\ntype = "pull"\nconnect = ${connectOne}\nroot = ${JSON.stringify(`${dst.name}/back`)}\nconcurrency = 4\n`,
        `[jobs.up]\ntype = "push"\nconnect = ${connect}\nfilesystems = ${tomlTable({ [`${src.name}/w<`]: true })}\nconcurrency = 4\n`,
      ].join("\n"),
    );
  }, TIMEOUT_MS);

  afterAll(async () => {
    await sshd?.[Symbol.asyncDispose]();
    await src?.[Symbol.asyncDispose]();
    await dst?.[Symbol.asyncDispose]();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const authentications = () => sshd.log().split("\n").filter((l) => l.includes("Accepted publickey")).length;

  test(
    "a pull killed midway leaves nothing that looks complete; the next run completes it with one ssh login",
    async () => {
      const proc = Bun.spawn([process.execPath, CLI, "pull", "wide", "--config", clientToml], { stdout: "pipe", stderr: "pipe" });
      // Killed while the 48 MiB filesystem is in flight (zfs-fuse receives a few MB/s here).
      for (let i = 0; i < 400 && !(await zfsCli(["list", "-H", "-o", "name", "-r", dst.name])).includes("/w/a/x"); i++) await Bun.sleep(25);
      proc.kill("SIGKILL");
      await proc.exited;
      const partial = await snapshotGuids(`${dst.name}/back/${src.name}`);
      const source = await snapshotGuids(src.name);
      for (const [name, guid] of Object.entries(partial)) expect({ name, guid }).toEqual({ name, guid: source[name]! });

      const before = authentications();
      const run = await zferry(["pull", "wide", "--config", clientToml]);
      expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({ exitCode: 0, stderr: "" });
      expect(authentications() - before).toBe(1); // four workers, one connection (sessions_per_connection = 4)
      const pulled = await snapshotGuids(`${dst.name}/back/${src.name}`);
      expect(pulled).toEqual(Object.fromEntries(TREE.map((rel) => [`${rel}@s1`, source[`${rel}@s1`]!])));
      // q is not offered: it became a placeholder, q/only a real receive below it.
      expect((await zfsCli(["get", "-H", "-o", "value,source", "zferry:placeholder", `${dst.name}/back/${src.name}/q`])).trim()).toBe("on\tlocal");
    },
    TIMEOUT_MS,
  );

  test(
    "parents arrive before children, and a filesystem that cannot be replicated leaves the others done",
    async () => {
      for (const rel of TREE) await snapshot(ds(rel), "s2");
      // The target of w/b has moved on by itself: w/b is diverged, its child w/b/z still replicates.
      await zfsCli(["set", "readonly=off", `${dst.name}/back/${src.name}/w/b`]);
      await snapshot(`${dst.name}/back/${src.name}/w/b`, "local");
      const run = await zferry(["pull", "wide", "--config", clientToml]);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain(`${src.name}/w/b: diverged`);
      const done = run.stdout.split("\n").filter((l) => / done | 1 snapshot/.test(l) || l.includes("s1 → s2"));
      expect(done.length).toBeGreaterThan(0);
      const pulled = await snapshotGuids(`${dst.name}/back/${src.name}`);
      const source = await snapshotGuids(src.name);
      for (const rel of TREE.filter((r) => r !== "w/b")) expect({ rel, guid: pulled[`${rel}@s2`] }).toEqual({ rel, guid: source[`${rel}@s2`]! });
      expect(pulled["w/b@s2"]).toBeUndefined();
      // Order: the plan lists parents first; each child's outcome line comes after its parent's.
      const outcome = (rel: string) => run.stdout.split("\n").findIndex((l) => l.startsWith(`${ds(rel)} `) && !l.includes("→"));
      for (const [parent, child] of [["w", "w/a"], ["w/a", "w/a/x"], ["w/a", "w/a/y"]] as const) {
        if (outcome(parent) >= 0 && outcome(child) >= 0) expect(outcome(parent)).toBeLessThan(outcome(child));
      }
    },
    TIMEOUT_MS,
  );

  test(
    "where sshd allows one session per connection, ssh logs in on its own for each session refused over a shared one",
    async () => {
      const serverToml = join(dir, "server.toml");
      await using narrow = await startSshd([{ command: `env ZFERRY_CONFIG=${serverToml} ${process.execPath} ${CLI} stdinserver b1` }], { config: ["MaxSessions 1"] });
      await zfsCli(["create", "-o", "mountpoint=none", `${dst.name}/narrow`]);
      const toml = join(dir, "narrow.toml");
      writeFileSync(toml, `[locks]\ndir = ${JSON.stringify(join(dir, "client-locks"))}\n[jobs.narrow]\ntype = "pull"\nconnect = ${connectToml(narrow.sshConnect(0))}\nroot = ${JSON.stringify(`${dst.name}/narrow`)}\nfilesystems = ${tomlTable({ [`${src.name}/w<`]: true })}\nconcurrency = 4\n`);
      const run = await zferry(["pull", "narrow", "--config", toml]);
      expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({ exitCode: 0, stderr: "" });
      // Four workers, two per connection: each connection's second session is refused ("no more
      // sessions"), and that worker's ssh connects by itself: four logins, four workers.
      const log = narrow.log().split("\n");
      expect(log.filter((l) => l.includes("no more sessions")).length).toBe(2);
      expect(log.filter((l) => l.includes("Accepted publickey")).length).toBe(4);
      const pulled = await snapshotGuids(`${dst.name}/narrow/${src.name}`);
      const source = await snapshotGuids(src.name);
      const wide = TREE.filter((r) => r.startsWith("w"));
      expect(Object.keys(pulled).sort()).toEqual(wide.map((r) => `${r}@s2`).sort()); // initial = "most_recent"
      for (const [name, guid] of Object.entries(pulled)) expect({ name, guid }).toEqual({ name, guid: source[name]! });
    },
    TIMEOUT_MS,
  );

  test(
    "a push of the tree with four workers on two connections lands every filesystem with the source's GUIDs",
    async () => {
      const before = authentications();
      const run = await zferry(["push", "up", "--config", clientToml]);
      expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({ exitCode: 0, stderr: "" });
      // w first, then its five children at once: four workers, two sessions per connection by default.
      expect(authentications() - before).toBe(2);
      const pushed = await snapshotGuids(`${dst.name}/sink/${src.name}`);
      const source = await snapshotGuids(src.name);
      const wide = TREE.filter((r) => r.startsWith("w"));
      expect(Object.keys(pushed).sort()).toEqual(wide.map((r) => `${r}@s2`).sort()); // initial = "most_recent"
      for (const [name, guid] of Object.entries(pushed)) expect({ name, guid }).toEqual({ name, guid: source[name]! });
      const again = await zferry(["push", "up", "--config", clientToml]);
      expect(again.exitCode).toBe(0);
      expect(again.stdout).toContain(": 9 filesystems: 0 done, 9 up to date");
    },
    TIMEOUT_MS,
  );
});
