/**
 * `zferry run JOB` over simulated hours (ZFERRY_NOW) against the fake OpenZFS on both sides
 * (`connect = { type = "local" }` spawns the real stdinserver): snapshot → replicate → protect →
 * prune, a snapshot another tool holds survives, a dry run changes nothing, and an identity
 * without the grants is refused and changes nothing on the server.
 */
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createFakeZfs, type FakeZfs } from "./fake-zfs/fixture.ts";
import { CLI } from "./harness/cli.ts";

let fake: FakeZfs | null = null;
afterEach(() => {
  fake?.[Symbol.dispose]();
  fake = null;
});

const OLD = "zferry_20200101T000000Z";

function setup(): { fake: FakeZfs; file: string } {
  fake = createFakeZfs({ datasets: [`tank/src@${OLD}`, "backup/pull"] });
  Bun.spawnSync([fake.bin, "hold", "other-tool", `tank/src@${OLD}`]);
  const file = join(fake.dir, "zferry.toml");
  const job = (name: string, identity: string) => `
[jobs.${name}]
type = "pull"
connect = { type = "local", identity = "${identity}" }
root = "backup/${name}"
snapshot = { prefix = "zferry_" }
keep_sender = [ { type = "not_replicated" }, { type = "last_n", count = 2 } ]
keep_receiver = [ { type = "last_n", count = 3 } ]
`;
  writeFileSync(
    file,
    `[zfs]
bin = ${JSON.stringify(fake.bin)}

[clients.b1]
filesystems = { "tank/src<" = true }
snapshot = { prefix = "zferry_" }
prune = true

[clients.b2]
filesystems = { "tank/src<" = true }
${job("pull", "b1")}${job("nogrant", "b2")}`,
  );
  return { fake, file };
}

async function run(file: string, job: string, now: string, ...extra: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  await using proc = Bun.spawn([process.execPath, CLI, "run", job, "--config", file, ...extra], { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1", ZFERRY_NOW: now } });
  const [stdout, stderr, exitCode] = await Promise.all([proc.stdout.text(), proc.stderr.text(), proc.exited]);
  return { exitCode, stdout, stderr };
}

function snaps(f: FakeZfs, ds: string): string[] {
  return Object.keys(f.state().datasets[ds]?.snapshots ?? {}).sort();
}

function holds(f: FakeZfs, ds: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, v] of Object.entries(f.state().datasets[ds]?.snapshots ?? {})) if (v.holds && Object.keys(v.holds).length > 0) out[name] = Object.keys(v.holds).sort();
  return out;
}

test("five hourly runs snapshot, replicate, hold the base and prune both sides by their rules", async () => {
  const { fake: f, file } = setup();
  await Bun.spawn([f.bin, "create", "backup/pull/tank"]).exited;
  for (const hour of ["10", "11", "12", "13", "14"]) {
    const r = await run(file, "pull", `2026-12-01T${hour}:00:00Z`);
    expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
    expect(r.stdout).toContain(`created @zferry_20261201T${hour}0000Z on 1 filesystem\n`);
  }
  // Sender: last_n(2) and the snapshot another tool holds; the base (14:00) carries b1's hold.
  expect(snaps(f, "tank/src")).toEqual([OLD, "zferry_20261201T130000Z", "zferry_20261201T140000Z"]);
  expect(holds(f, "tank/src")).toEqual({ [OLD]: ["other-tool"], zferry_20261201T140000Z: ["zferry_b1"] });
  // Receiver: last_n(3); its newest (the base) is held too, the previous holds were released.
  expect(snaps(f, "backup/pull/tank/src")).toEqual(["zferry_20261201T120000Z", "zferry_20261201T130000Z", "zferry_20261201T140000Z"]);
  expect(holds(f, "backup/pull/tank/src")).toEqual({ zferry_20261201T140000Z: ["zferry_b1"] });
  // One destroy call per side and run, never one per snapshot.
  expect(f.calls().filter((c) => c[0] === "destroy").every((c) => c.length === 2)).toBe(true);
  // This side's counts: once a run to find where holds are, and once more after releasing ours
  // (runs 2 to 5); the server reads them with its listing.
  expect(holdCountReads(f)).toEqual(Array(9).fill("backup/pull/tank/src"));
}, 120_000);

/** The datasets whose snapshots' hold counts a `zfs get userrefs` read, one entry per call. */
function holdCountReads(f: FakeZfs): string[] {
  return f.calls().filter((c) => c[0] === "get" && c.includes("userrefs")).map((c) => [...new Set(c.filter((a) => a.includes("@")).map((a) => a.split("@")[0]))].join(" "));
}

test("--dry-run lists what it would create and destroy, and why, and changes nothing", async () => {
  const { fake: f, file } = setup();
  await Bun.spawn([f.bin, "create", "backup/pull/tank"]).exited;
  for (const hour of ["10", "11", "12"]) expect((await run(file, "pull", `2026-12-01T${hour}:00:00Z`)).exitCode).toBe(0);
  const before = f.state();
  const r = await run(file, "pull", "2026-12-01T13:00:00Z", "--dry-run");
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toContain("would create tank/src@zferry_20261201T130000Z");
  expect(r.stdout).toContain("keep tank/src@zferry_20261201T120000Z: incremental base");
  expect(r.stdout).toContain("keep tank/src@zferry_20261201T110000Z: kept by last_n(2)");
  // The server's holds are the server's to check: asked for real, it keeps what another tool holds (first test).
  expect(r.stdout).toContain("would destroy tank/src@zferry_20200101T000000Z: no rule keeps it");
  expect(r.stdout).toContain("keep backup/pull/tank/src@zferry_20261201T100000Z: kept by last_n(3)");
  expect(r.stdout).toMatch(/run pull: 1 snapshot would create, \d+ would destroy/);
  expect(f.state()).toEqual(before);
}, 120_000);

test("an identity without the snapshot and prune grants is refused and the server's snapshots stay", async () => {
  const { fake: f, file } = setup();
  await Bun.spawn([f.bin, "create", "backup/nogrant/tank", "-p"]).exited;
  const r = await run(file, "nogrant", "2026-12-01T10:00:00Z");
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toContain('snapshot: Client "b2" may not take snapshots: its [clients] entry has no snapshot = { prefix = "…" }');
  expect(snaps(f, "tank/src")).toEqual([OLD]);
  expect(f.calls().filter((c) => c[0] === "snapshot" || c[0] === "destroy")).toEqual([]);
}, 120_000);

test("a push job's cycle: snapshots here, pushes, holds the base on both sides and prunes each by its rules", async () => {
  const { fake: f, file } = setup();
  writeFileSync(
    file,
    `[zfs]
bin = ${JSON.stringify(f.bin)}

[clients.b1]
filesystems = {}
receive_root = "backup/sink"
snapshot = { prefix = "zferry_" }
prune = true

[jobs.up]
type = "push"
connect = { type = "local", identity = "b1" }
filesystems = { "tank/src" = true }
snapshot = { prefix = "zferry_" }
keep_sender = [ { type = "last_n", count = 2 } ]
keep_receiver = [ { type = "last_n", count = 3 } ]
`,
  );
  await Bun.spawn([f.bin, "create", "-o", "mountpoint=none", "backup/sink"]).exited;
  for (const hour of ["10", "11", "12", "13"]) {
    const r = await run(file, "up", `2026-12-01T${hour}:00:00Z`);
    expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
    expect(r.stdout).toContain(`created @zferry_20261201T${hour}0000Z on 1 filesystem\n`);
  }
  // A snapshot zfs refuses (it exists already) is reported, never as created.
  const again = await run(file, "up", "2026-12-01T13:00:00Z");
  expect(again.stderr).toContain("snapshot:");
  expect(again.stdout).not.toContain("created @");
  expect(again.stdout).toContain("run up: 0 snapshots created");
  // Here: last_n(2), and the snapshot another tool holds; the base carries b1's hold.
  expect(snaps(f, "tank/src")).toEqual([OLD, "zferry_20261201T120000Z", "zferry_20261201T130000Z"]);
  expect(holds(f, "tank/src")).toEqual({ [OLD]: ["other-tool"], zferry_20261201T130000Z: ["zferry_b1"] });
  // The server's copy: last_n(3) of what arrived (the first push took the newest only), its base held.
  const sink = "backup/sink/tank/src";
  expect(snaps(f, sink)).toEqual(["zferry_20261201T110000Z", "zferry_20261201T120000Z", "zferry_20261201T130000Z"]);
  expect(holds(f, sink)).toEqual({ zferry_20261201T130000Z: ["zferry_b1"] });
  // Twice a run: the snapshot another tool holds here makes each run try to release ours there.
  expect(holdCountReads(f)).toEqual(Array(10).fill("tank/src"));
}, 120_000);

test("--json on a job with a snapshot cycle is a usage error that changes nothing", async () => {
  const { fake: f, file } = setup();
  const before = f.state();
  const r = await run(file, "pull", "2026-12-01T10:00:00Z", "--json");
  expect(r.exitCode).toBe(2);
  expect(r.stderr).toContain('--json is not available for a job with a snapshot cycle');
  expect(r.stdout).toBe("");
  expect(f.state()).toEqual(before);
}, 60_000);

test("protect and prune run `concurrency` filesystems at once, from one listing of each side; the server protects every base in one call", async () => {
  const names = Array.from({ length: 6 }, (_, i) => `tank/w/f${i}`);
  const f = (fake = createFakeZfs({ datasets: [...names.map((n) => `${n}@${OLD}`), "backup/c1", "backup/c3"] }));
  // Each destroy of snapshots here (each filesystem's prune) takes a while, and says when it started and ended.
  const events = join(f.dir, "destroys");
  const slow = join(f.dir, "slow-zfs");
  writeFileSync(slow, `#!/bin/sh\ncase "$*" in destroy*backup/*@*) echo "start $(date +%s%N)" >> ${events}; sleep 0.3; ${f.bin} "$@"; rc=$?; echo "end $(date +%s%N)" >> ${events}; exit $rc ;; esac\nexec ${f.bin} "$@"\n`, { mode: 0o755 });
  const job = (n: number) => `
[clients.b${n}]
filesystems = { "tank/w<" = true }
snapshot = { prefix = "zferry_" }
prune = true

[jobs.c${n}]
type = "pull"
connect = { type = "local", identity = "b${n}" }
root = "backup/c${n}"
filesystems = { "tank/w<" = true, "tank/w" = false }
concurrency = ${n}
snapshot = { prefix = "zferry_" }
keep_receiver = [ { type = "last_n", count = 1 } ]
`;
  const file = join(f.dir, "zferry.toml");
  writeFileSync(file, `[zfs]\nbin = ${JSON.stringify(slow)}\n${job(1)}${job(3)}`);
  let calls: string[][] = [];
  /** The most destroys that ran at one time during `job`'s run; `calls` are its zfs commands. */
  const mostAtOnce = async (name: string, hour: string): Promise<number> => {
    writeFileSync(events, "");
    const before = f.calls().length;
    const r = await run(file, name, `2026-12-01T${hour}:00:00Z`);
    calls = f.calls().slice(before);
    expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
    const marks = (await Bun.file(events).text()).trim().split("\n").map((l) => l.split(" ")).map(([what, at]) => ({ d: what === "start" ? 1 : -1, at: BigInt(at!) }));
    expect(marks.filter((m) => m.d === 1).length).toBe(names.length); // one prune here for each filesystem
    marks.sort((a, b) => (a.at === b.at ? a.d - b.d : a.at < b.at ? -1 : 1));
    let now = 0;
    let most = 0;
    for (const m of marks) most = Math.max(most, (now += m.d));
    return most;
  };
  // Each job's first run receives one snapshot a filesystem, and prunes nothing.
  for (const [name, hour] of [["c1", "09"], ["c3", "10"]] as const) expect((await run(file, name, `2026-12-01T${hour}:00:00Z`)).exitCode).toBe(0);
  expect(await mostAtOnce("c1", "11")).toBe(1);
  const most = await mostAtOnce("c3", "12");
  expect(most).toBeGreaterThan(1);
  expect(most).toBeLessThanOrEqual(3);
  // Here, the holds moved for all filesystems at once: one hold, one release, the counts before and after.
  const here = calls.filter((c) => c.some((a) => a.startsWith("backup/c3/")) && (c[0] === "hold" || c[0] === "release" || (c[0] === "get" && c.includes("userrefs"))));
  expect(here.map((c) => [c[0], c.filter((a) => a.includes("@")).length])).toEqual([
    ["hold", names.length],
    ["get", 3 * names.length], // 10, 11 and 12 here
    ["release", names.length],
    ["get", names.length],
  ]);
  // There, one `protect_bases`: one hold of every base, one listing of every filesystem's versions
  // (the only listing of a filesystem alone; each side's tree was listed once), one release.
  const there = calls.filter((c) => c.some((a) => a.startsWith("tank/w/")) && (c[0] === "hold" || c[0] === "release" || (c[0] === "list" && c.includes("-d"))));
  const named = (c: string[]) => c.filter((a) => a.startsWith("tank/w/")).map((a) => a.split("@")[0]);
  expect(there.map((c) => [c[0], named(c)])).toEqual([
    ["hold", names],
    ["list", names],
    // b3's tag leaves its old bases, and is tried on b1's, which carry a hold (zfs-fuse cannot tell whose).
    ["release", names.flatMap((n) => [n, n])],
  ]);
  for (const n of names) expect(holds(f, `backup/c3/${n}`)).toEqual({ zferry_20261201T120000Z: ["zferry_b3"] });
  for (const n of names) expect(holds(f, n)).toEqual({ zferry_20261201T110000Z: ["zferry_b1"], zferry_20261201T120000Z: ["zferry_b3"] });
}, 120_000);

test.each<[string, string, Record<string, string[]>, Record<string, string[]>]>([
  // Its base is not held here, so it is not protected on the server either.
  ["hold", "hold\\ *", {}, {}],
  // Its base is held here, in each run, but its holds are not read, so none is released here. The
  // base being held here, the server protects it too (in each run, moving its hold on).
  ["read the holds of", "get\\ *userrefs\\ *", { zferry_20261201T100000Z: ["zferry_b1"], zferry_20261201T110000Z: ["zferry_b1"] }, { zferry_20261201T110000Z: ["zferry_b1"] }],
])("a filesystem whose base zfs will not %s here fails alone, and is pruned on neither side", async (_what, pattern, heldHere, heldThere) => {
  const names = ["tank/w/f0", "tank/w/f1", "tank/w/f2"];
  const f = (fake = createFakeZfs({ datasets: [...names.map((n) => `${n}@${OLD}`), "backup/c"] }));
  // zfs refuses the command for anything of backup/c/tank/w/f1 (as it would a snapshot destroyed meanwhile).
  const refusing = join(f.dir, "refusing-zfs");
  writeFileSync(refusing, `#!/bin/sh\ncase "$*" in ${pattern}backup/c/tank/w/f1@*) echo "cannot do it: permission denied" >&2; exit 1 ;; esac\nexec ${f.bin} "$@"\n`, { mode: 0o755 });
  const file = join(f.dir, "zferry.toml");
  writeFileSync(
    file,
    `[zfs]\nbin = ${JSON.stringify(refusing)}\n[clients.b1]\nfilesystems = { "tank/w<" = true }\nsnapshot = { prefix = "zferry_" }\nprune = true\n` +
      `[jobs.c]\ntype = "pull"\nconnect = { type = "local", identity = "b1" }\nroot = "backup/c"\nfilesystems = { "tank/w<" = true, "tank/w" = false }\n` +
      `snapshot = { prefix = "zferry_" }\nkeep_sender = [ { type = "last_n", count = 1 } ]\nkeep_receiver = [ { type = "last_n", count = 1 } ]\n`,
  );
  await run(file, "c", "2026-12-01T10:00:00Z");
  const r = await run(file, "c", "2026-12-01T11:00:00Z");
  expect(r.exitCode).not.toBe(0);
  expect(r.stderr).toContain("tank/w/f1: protect/prune: holding the base here: ");
  expect(r.stderr).not.toMatch(/tank\/w\/f[02]/);
  expect(r.stderr).toContain("permission denied");
  expect(r.stdout).toContain("4 destroyed, 0 filesystems failed, 1 other problem"); // f0 and f2, on each side
  for (const n of ["tank/w/f0", "tank/w/f2"]) {
    expect(holds(f, n)).toEqual({ zferry_20261201T110000Z: ["zferry_b1"] });
    expect(holds(f, `backup/c/${n}`)).toEqual({ zferry_20261201T110000Z: ["zferry_b1"] });
    expect(snaps(f, `backup/c/${n}`)).toEqual(["zferry_20261201T110000Z"]);
  }
  // f1, in both runs: replicated, but pruned on neither side.
  expect(snaps(f, "backup/c/tank/w/f1")).toEqual(["zferry_20261201T100000Z", "zferry_20261201T110000Z"]);
  expect(holds(f, "backup/c/tank/w/f1")).toEqual(heldHere);
  expect(snaps(f, "tank/w/f1")).toEqual([OLD, "zferry_20261201T100000Z", "zferry_20261201T110000Z"]);
  expect(holds(f, "tank/w/f1")).toEqual(heldThere);
}, 60_000);
