/**
 * `zferry run JOB` end to end on this machine's zfs-fuse through a real sshd (forced command
 * `zferry stdinserver ID`), over simulated hours (ZFERRY_NOW): two pullers of one server each
 * snapshot, replicate, hold their own base and prune; a snapshot another tool holds and the other
 * puller's base survive; a dataset the ACL excludes is never snapshotted; `--dry-run` and an
 * identity without the grants change nothing on the server.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, REPO, connectToml, tomlTable, type CliRun } from "./harness/cli.ts";
import { canRunSshd, startSshd, type Sshd } from "./harness/sshd.ts";
import { createTestPool, ensureZfsFuse, zfsCli, type TestPool } from "./harness/pool.ts";

const fuse = await ensureZfsFuse();
const ready = fuse.ok && canRunSshd();
const OLD = "zferry_20200101T000000Z";
const at = (hour: string) => `zferry_20261201T${hour}0000Z`;

async function snapshotsOf(dataset: string): Promise<string[]> {
  const out = await zfsCli(["list", "-H", "-o", "name", "-t", "snapshot", "-r", dataset]);
  return out.split("\n").filter((n) => n.startsWith(`${dataset}@`)).map((n) => n.slice(dataset.length + 1)).sort();
}

async function userrefs(dataset: string, names: readonly string[]): Promise<number[]> {
  const out: number[] = [];
  for (const n of names) out.push(Number((await zfsCli(["get", "-H", "-o", "value", "userrefs", `${dataset}@${n}`])).trim()));
  return out;
}

describe.skipIf(!ready)("zferry run: the backup cycle on zfs-fuse over ssh", () => {
  let dir: string;
  let src: TestPool;
  let dst: TestPool;
  let sshd: Sshd;
  let clientToml: string;
  const data = () => `${src.name}/data`;

  async function run(job: string, hour: string, ...extra: string[]): Promise<CliRun> {
    await using proc = Bun.spawn([process.execPath, CLI, "run", job, "--config", clientToml, ...extra], {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, NO_COLOR: "1", ZFERRY_NOW: `2026-12-01T${hour}:00:00Z` },
    });
    const [stdout, stderr, exitCode] = await Promise.all([proc.stdout.text(), proc.stderr.text(), proc.exited]);
    return { exitCode, stdout, stderr };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "zferry-cycle-"));
    src = await createTestPool("zfcyc");
    dst = await createTestPool("zfcyc");
    await zfsCli(["create", data()]);
    await zfsCli(["create", `${data()}/private`]);
    await zfsCli(["snapshot", `${data()}@${OLD}`]);
    await zfsCli(["hold", "other-tool", `${data()}@${OLD}`]);
    for (const root of ["one", "two", "three"]) await zfsCli(["create", `${dst.name}/${root}`]);
    const zfsBin = Bun.which("zfs") ?? "/usr/sbin/zfs"; // sshd's PATH has no /usr/sbin
    const serverToml = join(dir, "server.toml");
    const fs = tomlTable({ [data()]: true });
    const granted = `filesystems = ${fs}\nsnapshot = { prefix = "zferry_" }\nprune = true\n`;
    writeFileSync(
      serverToml,
      `[zfs]\nbin = ${JSON.stringify(zfsBin)}\n[log]\nlevel = "warn"\n[locks]\ndir = ${JSON.stringify(join(dir, "server-locks"))}\n` +
        `[clients.b1]\n${granted}[clients.b2]\n${granted}[clients.b3]\nfilesystems = ${fs}\n`,
    );
    const cli = `${process.execPath} ${join(REPO, "src/cli.ts")}`;
    sshd = await startSshd(["b1", "b2", "b3"].map((id) => ({ command: `env ZFERRY_CONFIG=${serverToml} ${cli} stdinserver ${id}` })));
    clientToml = join(dir, "client.toml");
    const job = (name: string, key: number) =>
      `[jobs.${name}]\ntype = "pull"\nconnect = ${connectToml(sshd.sshConnect(key))}\nroot = ${JSON.stringify(`${dst.name}/${name}`)}\n` +
      `snapshot = { prefix = "zferry_" }\nkeep_sender = [ { type = "last_n", count = 1 } ]\nkeep_receiver = [ { type = "last_n", count = 2 } ]\n[jobs.${name}.send]\n`;
    writeFileSync(clientToml, `[locks]\ndir = ${JSON.stringify(join(dir, "client-locks"))}\n${job("one", 0)}${job("two", 1)}${job("three", 2)}`);
  }, 120_000);

  afterAll(async () => {
    await sshd?.[Symbol.asyncDispose]();
    await src?.[Symbol.asyncDispose]();
    await dst?.[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });

  test("two pullers over three hours: each keeps its own base, another tool's hold survives, private is never snapshotted", async () => {
    for (const [job, hour] of [["one", "10"], ["two", "11"], ["one", "12"]] as const) {
      const r = await run(job, hour);
      expect({ job, hour, exitCode: r.exitCode, stderr: r.stderr }).toEqual({ job, hour, exitCode: 0, stderr: "" });
    }
    // Sender: last_n(1) keeps 12:00 (b1's base); 11:00 is b2's base and held; 10:00 (b1's old base) went.
    expect(await snapshotsOf(data())).toEqual([OLD, at("11"), at("12")]);
    expect(await userrefs(data(), [OLD, at("11"), at("12")])).toEqual([1, 1, 1]);
    expect(await snapshotsOf(`${data()}/private`)).toEqual([]);
    // Receivers hold their newest; one received 10:00, then 11:00 and 12:00, and keeps the last 2.
    const one = `${dst.name}/one/${data()}`;
    expect(await snapshotsOf(one)).toEqual([at("11"), at("12")]);
    expect(await userrefs(one, [at("11"), at("12")])).toEqual([0, 1]);
    expect(await snapshotsOf(`${dst.name}/two/${data()}`)).toEqual([at("11")]);
  }, 180_000);

  test("--dry-run lists every snapshot it would create and destroy and changes nothing", async () => {
    const before = [await snapshotsOf(data()), await snapshotsOf(`${dst.name}/one/${data()}`)];
    const r = await run("one", "13", "--dry-run");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`would create ${data()}@${at("13")}`);
    expect(r.stdout).toContain(`keep ${data()}@${at("12")}: incremental base`);
    expect([await snapshotsOf(data()), await snapshotsOf(`${dst.name}/one/${data()}`)]).toEqual(before);
  }, 120_000);

  test("an identity without the grants gets permission_denied and the server's snapshots stay", async () => {
    const before = await snapshotsOf(data());
    const r = await run("three", "14");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('snapshot: Client "b3" may not take snapshots');
    expect(await snapshotsOf(data())).toEqual(before);
  }, 120_000);
});
