/**
 * The exit codes of `zferry pull|push|run`, pinned one by one through the real CLI on the fake zfs
 * with local-connect jobs (README § Exit codes; cli.ts maps errors onto them). Timer units and
 * cron wrappers branch on these numbers, so each has a test here; stdinserver's 2 is pinned in
 * stdinserver-cli.test.ts, and 75 for a run in flight in job-lock.test.ts.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { EXIT_BUSY, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "../src/commands/index.ts";
import { tryLockNamed } from "../src/sys/tree-lock.ts";
import { localJobMachine, type LocalJobMachine } from "./helpers/local-job.ts";

let machine: LocalJobMachine | null = null;
afterEach(() => {
  machine?.[Symbol.dispose]();
  machine = null;
});

/** A machine where tank/src can be pulled into backup/pull and pushed into backup/sink. */
function setup(datasets = ["tank/src@s1", "backup/pull", "backup/sink"]) {
  machine = localJobMachine({ datasets });
  return machine;
}

test("the codes are 0, 1, 2 and 75", () => {
  expect({ EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_BUSY }).toEqual({ EXIT_OK: 0, EXIT_FAILURE: 1, EXIT_USAGE: 2, EXIT_BUSY: 75 });
});

describe("0: every filesystem succeeded or was up to date", () => {
  test.each([["pull", "p"], ["push", "up"], ["run", "p"], ["run", "up"]])("zferry %s %s, then again with nothing to do", async (command, job) => {
    const m = setup();
    const first = await m.zferry([command, job]);
    expect({ exitCode: first.exitCode, stderr: first.stderr }).toEqual({ exitCode: 0, stderr: "" });
    expect(first.stdout).toContain("1 done, 0 up to date");
    const again = await m.zferry([command, job]);
    expect({ exitCode: again.exitCode, stderr: again.stderr }).toEqual({ exitCode: 0, stderr: "" });
    expect(again.stdout).toContain("0 done, 1 up to date");
  }, 60_000);

  test("zferry run p --dry-run", async () => {
    const run = await setup().zferry(["run", "p", "--dry-run"]);
    expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({ exitCode: 0, stderr: "" });
    expect(run.stdout).toContain("nothing was changed");
  }, 60_000);
});

describe("1: a failure at run time", () => {
  test("one filesystem failed (a diverged target), the others replicated", async () => {
    const m = setup(["tank/src@s1", "tank/other@s1", "backup/pull/tank/other@mine", "backup/sink"]);
    const run = await m.zferry(["run", "p"]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      `zferry: pull p: tank/other: diverged: no common snapshot: none of the target's snapshots ("mine") is on the source\nzferry: pull p: 1 filesystem failed\n`,
    );
    expect(run.stdout).toContain("1 done, 0 up to date, 1 skipped, 1 failed");
  }, 60_000);

  test("the job could not run: its root does not exist", async () => {
    const run = await setup(["tank/src@s1"]).zferry(["pull", "p"]);
    expect(run).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `zferry: pull p: The job's root "backup/pull" does not exist here: create it first, e.g. "zfs create -o mountpoint=none backup/pull"\n`,
    });
  }, 60_000);
});

describe("2: not started, a usage or configuration error; no zfs runs", () => {
  test.each([
    ["an unknown job", ["run", "nope"], 'zferry: Unknown job "nope" in FILE (jobs: p, up)\n'],
    ["a job of the other type", ["pull", "up"], 'zferry: Job "up" is a push job; run "zferry push up"\n'],
    ["a missing job argument", ["run"], "zferry: Missing required positional argument: JOB\nRun `zferry --help` for usage.\n"],
    ["an unknown option", ["run", "p", "--dryrun"], 'zferry: Unknown option "--dryrun"; run `zferry --help` for usage\n'],
    ["an unknown command", ["pul", "p"], "zferry: Unknown command pul\nRun `zferry --help` for usage.\n"],
  ])("%s", async (_label, args, stderr) => {
    const m = setup();
    const run = await m.zferry(args);
    expect(run).toEqual({ exitCode: 2, stdout: "", stderr: stderr.replace("FILE", m.file) });
    expect(m.fake.calls()).toEqual([]);
  });

  test("an unknown config key, named by its path", async () => {
    const m = setup();
    writeFileSync(m.file, `[jobs.p]\ntype = "pull"\nroot = "backup/pull"\nconnect = { type = "local", identity = "b1" }\nschedule = "hourly"\n`);
    const run = await m.zferry(["run", "p"]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("jobs.p.schedule");
    expect(run.stderr).toContain("unknown key");
  });

  test("no arguments at all prints the usage", async () => {
    const proc = Bun.spawn([process.execPath, join(import.meta.dir, "../src/cli.ts")], { stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, exitCode] = await Promise.all([proc.stdout.text(), proc.stderr.text(), proc.exited]);
    expect({ exitCode, stdout }).toEqual({ exitCode: 2, stdout: "" });
    expect(stderr).toContain("USAGE");
  });
});

describe("75: not started, another run holds a lock this run needs; no zfs runs", () => {
  test.each([["run", "p"], ["pull", "p"], ["push", "up"], ["run", "up"]])("zferry %s %s while this test holds the job's lock", async (command, job) => {
    const m = setup();
    const lock = tryLockNamed(join(m.locks, `job.${job}.lock`));
    if (!("held" in lock)) throw new Error("the job lock is busy before the test took it");
    using _held = lock.held;
    const run = await m.zferry([command, job]);
    expect(run.exitCode).toBe(EXIT_BUSY);
    expect(run.stdout).toBe("");
    const type = job === "p" ? "pull" : "push";
    expect(run.stderr).toMatch(new RegExp(`^zferry: ${type} ${job}: not started: job "${job}" is already running: pid ${process.pid} \\(.*\\), started .* UTC\\n$`));
    expect(m.fake.calls()).toEqual([]);
  });
});
