/**
 * Unchanged filesystems cost nothing (OpenZFS 2.2+ `snapshots_changed`, emulated by the fake zfs
 * on both ends): once a run found the tree up to date, the next lists datasets alone; a change on
 * either side, a dataset made again, or a mark too new to trust brings the versions back.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { localJobMachine, type LocalJobMachine } from "./helpers/local-job.ts";

const N = 6;
const names: string[] = Array.from({ length: N }, (_, i) => `tank/w/f${i}`);
/** zfs's clock in these tests: well before the real one, so every mark is old enough to keep. */
const PAST = 1_800_000_000 - 86_400 * 365 * 2;

let machine: LocalJobMachine;
let zfsClock = PAST;

beforeEach(() => {
  machine = localJobMachine({
    datasets: [...names.map((n) => `${n}@s1`), "backup/pull"],
    extra: `[jobs.wide]\ntype = "pull"\nconnect = { type = "local", identity = "b1" }\nroot = "backup/pull"\nfilesystems = { "tank/w<" = true }\n`,
  });
  zfsClock = PAST;
  machine.fake.setEnv({ FAKE_ZFS_NOW: String(zfsClock) });
});

afterEach(() => machine[Symbol.dispose]());

/** Runs the job; returns the zfs calls it made and its stdout. */
async function pull(): Promise<{ calls: string[][]; stdout: string }> {
  const before = machine.fake.calls().length;
  const run = await machine.zferry(["pull", "wide"]);
  expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({ exitCode: 0, stderr: "" });
  return { calls: machine.fake.calls().slice(before), stdout: run.stdout };
}

/** zfs commands run later than the ones before: each at its own second. */
async function zfs(...args: string[]): Promise<void> {
  machine.fake.setEnv({ FAKE_ZFS_NOW: String(++zfsClock) });
  await Bun.$`${machine.fake.bin} ${args}`.quiet();
}

const listings = (calls: string[][]) => calls.filter((c) => c[0] === "list" || c[0] === "get");
/** Listings that read snapshots: `-t …snapshot…`, or a `zfs get` without `-t` (which reads every object). */
const snapshotListings = (calls: string[][]) => listings(calls).filter((c) => (c.includes("-t") ? c[c.indexOf("-t") + 1]!.includes("snapshot") : c[0] === "get"));
const sends = (calls: string[][]) => calls.filter((c) => c[0] === "send");
/** The roots of recursive listings of versions, in order. */
const fullListings = (calls: string[][]) => listings(calls).filter((c) => c.includes("-r") && c.includes("filesystem,volume,snapshot,bookmark")).map((c) => c.at(-1)!);
/** The datasets named in `-d 1` listings of versions, sorted. */
const named = (calls: string[][]) =>
  listings(calls)
    .filter((c) => c[0] === "list" && c.includes("-d") && c.includes("filesystem,volume,snapshot,bookmark"))
    .flatMap((c) => c.slice(c.indexOf("-d") + 2))
    .sort();

/**
 * Makes the first-round listing of datasets below `root` (a `zfs get`) take a second, as a target
 * of unmounted received datasets does on OpenZFS; returns the file where each zfs call's start
 * and end are written.
 */
function slowTargetListing(m: LocalJobMachine, root: string): string {
  const events = join(m.fake.dir, "events");
  const slow = join(m.fake.dir, "slow-zfs");
  writeFileSync(slow, `#!/bin/sh\necho "start $*" >> ${events}\ncase "$*" in "get "*${root}) sleep 1 ;; esac\n${m.fake.bin} "$@"\nrc=$?\necho "end $*" >> ${events}\nexit $rc\n`, { mode: 0o755 });
  writeFileSync(m.file, readFileSync(m.file, "utf8").replace(JSON.stringify(m.fake.bin), JSON.stringify(slow)));
  return events;
}

/** The source's whole listing of versions started before the target's first round ended. */
function expectOverlap(events: string, sides: { source: string; target: string }): void {
  const lines = readFileSync(events, "utf8").trim().split("\n");
  const wholeSource = lines.findIndex((l) => l.startsWith("start list") && l.includes("filesystem,volume,snapshot,bookmark") && l.endsWith(` ${sides.source}`));
  const targetFirst = lines.findIndex((l) => l.startsWith("end get") && l.endsWith(` ${sides.target}`));
  expect(wholeSource).toBeGreaterThanOrEqual(0);
  expect(targetFirst).toBeGreaterThan(wholeSource);
}

function store(): { entries: Record<string, unknown> } {
  return JSON.parse(readFileSync(join(machine.locks, "job.wide.unchanged.json"), "utf8"));
}

describe("unchanged marks", () => {
  test("a run after an up-to-date one lists datasets alone on both sides and sends nothing", async () => {
    await pull(); // full
    const first = await pull(); // finds everything up to date, from the versions
    expect(first.stdout).toContain(`0 done, ${N} up to date`);
    expect(snapshotListings(first.calls).length).toBe(2);
    // The parent has no snapshots: kept as such, until its first snapshot gives it a value.
    expect(Object.keys(store().entries).sort()).toEqual(["tank/w", ...names]);

    const noop = await pull();
    expect(noop.stdout).toContain(`0 done, ${N} up to date`);
    // The run counts them in one line; a dry run lists each, planned from its mark at s1.
    expect(noop.stdout).toContain(`${N} more filesystems up to date (--dry-run lists each)`);
    const dry = await machine.zferry(["pull", "wide", "--dry-run"]);
    for (const name of names) expect(dry.stdout).toMatch(new RegExp(`^${name} +up to date at s1$`, "m"));
    expect(snapshotListings(noop.calls)).toEqual([]);
    // One zfs process per side: here a `zfs get` (placeholder marks and confinement come with the
    // datasets), on the server a `zfs list`.
    expect(listings(noop.calls).map((c) => `${c[0]} ${c.at(-1)}`).sort()).toEqual(["get backup/pull", "list tank"]);
    expect(listings(noop.calls).every((c) => c[c.indexOf("-t") + 1] === "filesystem,volume")).toBe(true);
    expect(sends(noop.calls)).toEqual([]);
  });

  test("a new snapshot on the source: only that source's versions are listed, by name, and it is sent", async () => {
    await pull();
    await pull();
    await zfs("snapshot", `${names[2]}@s2`);
    const run = await pull();
    expect(sends(run.calls).map((c) => c.slice(1))).toEqual([["-i", `${names[2]}@s1`, `${names[2]}@s2`]]);
    // One named listing: `-d 1` of the one source. Its target held its mark (it still ends at s1),
    // so it is planned from the mark and not listed.
    const named = listings(run.calls).filter((c) => c[0] === "list" && c.includes("-d"));
    expect(named.map((c) => c.at(-1))).toEqual([names[2]]);
    expect(named.map((c) => c.filter((a) => a.startsWith("tank/") || a.startsWith("backup/")).length)).toEqual([1]);
    expect(Object.keys(machine.fake.state().datasets[`backup/pull/${names[2]}`]!.snapshots).sort()).toEqual(["s1", "s2"]);

    // The receive moved the target's mark: one more named listing finds it up to date, then none.
    const after = await pull();
    expect(sends(after.calls)).toEqual([]);
    expect(listings(after.calls).filter((c) => c[0] === "list" && c.includes("-d")).length).toBe(2);
    const quiet = await pull();
    expect(snapshotListings(quiet.calls)).toEqual([]);
  });

  test("new snapshots on every source: the sources are listed whole, no target's versions at all", async () => {
    await pull();
    await pull();
    for (const n of names) await zfs("snapshot", `${n}@s2`);
    const run = await pull();
    expect(fullListings(run.calls)).toEqual(["tank"]);
    expect(named(run.calls)).toEqual([]);
    expect(snapshotListings(run.calls).map((c) => c.at(-1))).toEqual(["tank"]);
    expect(sends(run.calls).map((c) => c.slice(1)).sort()).toEqual(names.map((n) => ["-i", `${n}@s1`, `${n}@s2`]));
    for (const n of names) expect(Object.keys(machine.fake.state().datasets[`backup/pull/${n}`]!.snapshots).sort()).toEqual(["s1", "s2"]);
  });

  test("where most sources moved, their whole listing starts while the target's first round is still running", async () => {
    await pull();
    await pull();
    for (const n of names) await zfs("snapshot", `${n}@s2`);
    const events = slowTargetListing(machine, "backup/pull");
    const run = await pull();
    expectOverlap(events, { source: "tank", target: "backup/pull" });
    expect(fullListings(run.calls)).toEqual(["tank"]); // listed once: the early listing is the second round's
    expect(sends(run.calls)).toHaveLength(N);
  });

  test("a source that moved past its mark's snapshot (destroyed there): that target is listed, and planned as without marks", async () => {
    await pull();
    await pull();
    await zfs("snapshot", `${names[3]}@s2`);
    await zfs("destroy", `${names[3]}@s1`);
    const before = machine.fake.calls().length;
    const run = await machine.zferry(["pull", "wide"]);
    const calls = machine.fake.calls().slice(before);
    // The source by name, then its target by name (the mark's s1 is no base any more).
    expect(named(calls)).toEqual([`backup/pull/${names[3]}`, names[3]!]);
    expect(sends(calls)).toEqual([]);
    const line = run.stdout.split("\n").find((l) => l.includes(names[3]!));
    // Without marks the same plan, from both full listings.
    rmSync(join(machine.locks, "job.wide.unchanged.json"));
    const unmarked = await machine.zferry(["pull", "wide"]);
    expect(unmarked.stdout.split("\n").find((l) => l.includes(names[3]!))).toBe(line!);
    expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({ exitCode: unmarked.exitCode, stderr: unmarked.stderr });
    expect(line).toContain(`diverged: no common snapshot: none of the target's snapshots ("s1") is on the source`);
  });

  test("a change on the target (a snapshot destroyed by hand) is seen and repaired", async () => {
    await pull();
    await zfs("snapshot", `${names[0]}@s2`);
    await pull();
    await pull();
    await zfs("destroy", `backup/pull/${names[0]}@s2`);
    const run = await pull();
    expect(sends(run.calls).map((c) => c.slice(1))).toEqual([["-i", `${names[0]}@s1`, `${names[0]}@s2`]]);
  });

  test("a source dataset destroyed and made again under its name is planned afresh (its GUID moved)", async () => {
    await pull();
    await pull();
    // Same snapshots_changed, same snapshot names, another dataset GUID and snapshot GUID.
    const state = machine.fake.state();
    const ds = state.datasets[names[1]!]!;
    ds.guid = "424242";
    ds.snapshots.s1!.guid = "434343";
    machine.fake.setState(state);
    const before = machine.fake.calls().length;
    const run = await machine.zferry(["pull", "wide"]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(`${names[1]}: diverged: no common snapshot`);
    expect(named(machine.fake.calls().slice(before))).toEqual([`backup/pull/${names[1]!}`, names[1]!]);
  });

  test("marks not older than the second their listing started in are not kept", async () => {
    machine.fake.setEnv({ FAKE_ZFS_NOW: String(Math.floor(Date.now() / 1000) + 3600) });
    await pull();
    await zfs("snapshot", `${names[0]}@s2`); // the clock is still an hour ahead of the listings
    machine.fake.setEnv({ FAKE_ZFS_NOW: String(Math.floor(Date.now() / 1000) + 3600) });
    await pull();
    expect(Object.keys(store().entries)).toEqual(["tank/w"]);
    // Most filesystems have no mark to compare: both whole trees are listed again.
    const run = await pull();
    expect(named(run.calls)).toEqual([]);
    expect(fullListings(run.calls).sort()).toEqual(["backup/pull", "tank"]);
  });

  test("a damaged store costs a full listing, never a wrong plan", async () => {
    await pull();
    await pull();
    writeFileSync(join(machine.locks, "job.wide.unchanged.json"), '{"format":1,"scope":"pull backup/pull","entries":{"tank/w/f0":[1,2]}}');
    await zfs("snapshot", `${names[0]}@s2`);
    const run = await pull();
    // Both sides, once each: the send is checked on its stream, and its first record vouches for what arrived.
    expect(fullListings(run.calls).sort()).toEqual(["backup/pull", "tank"]);
    expect(sends(run.calls).map((c) => c.at(-1))).toEqual([`${names[0]}@s2`]);
  });

  test("a dry run plans from the marks and leaves the store as it was", async () => {
    await pull();
    await pull();
    const kept = store();
    await zfs("snapshot", `${names[3]}@s2`);
    const dry = await machine.zferry(["pull", "wide", "--dry-run"]);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`${names[3]}\\s+s1 → s2`));
    expect(store()).toEqual(kept);
  });
});

describe("unchanged marks of a push", () => {
  test("the local side and the server's copy are listed without versions once up to date; a new snapshot is listed by name and sent", async () => {
    using m = localJobMachine({
      datasets: ["tank/src@s1", "tank/src/a@s1", "backup/sink"],
      extra: `[jobs.out]\ntype = "push"\nconnect = { type = "local", identity = "b1" }\nfilesystems = { "tank/src<" = true }\n`,
    });
    m.fake.setEnv({ FAKE_ZFS_NOW: String(PAST) });
    const push = async () => {
      const before = m.fake.calls().length;
      const run = await m.zferry(["push", "out"]);
      expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({ exitCode: 0, stderr: "" });
      return { calls: m.fake.calls().slice(before), stdout: run.stdout };
    };
    expect((await push()).stdout).toContain("2 done");
    expect((await push()).stdout).toContain("0 done, 2 up to date");
    const noop = await push();
    expect(noop.stdout).toContain("0 done, 2 up to date");
    expect(snapshotListings(noop.calls)).toEqual([]);
    m.fake.setEnv({ FAKE_ZFS_NOW: String(PAST + 10) });
    await Bun.$`${m.fake.bin} snapshot tank/src/a@s2`.quiet();
    const one = await push();
    expect(one.stdout).toContain("1 done, 1 up to date");
    expect(named(one.calls)).toEqual(["backup/sink/tank/src/a", "tank/src/a"]);
    expect(Object.keys(m.fake.state().datasets["backup/sink/tank/src/a"]!.snapshots).sort()).toEqual(["s1", "s2"]);

    // Both sources moved: their whole listing starts while the server still lists its datasets.
    m.fake.setEnv({ FAKE_ZFS_NOW: String(PAST + 20) });
    await Bun.$`${m.fake.bin} snapshot -r tank/src@s3`.quiet();
    const events = slowTargetListing(m, "backup/sink");
    const both = await push();
    expect(both.stdout).toContain("2 done");
    expectOverlap(events, { source: "tank/src", target: "backup/sink" });
  });
});
