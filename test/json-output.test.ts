/**
 * `--json` through the real CLI (local-connect jobs on the fake zfs): stdout is exactly one JSON
 * document, the plan with `--dry-run` and the outcome after a run, and the human text moves to
 * stderr; a job that could not run still prints its document, with the reason.
 */
import { afterEach, expect, test } from "bun:test";
import type { JsonReport } from "../src/client/json-report.ts";
import { localJobMachine, type LocalJobMachine } from "./helpers/local-job.ts";

let machine: LocalJobMachine | null = null;
afterEach(() => {
  machine?.[Symbol.dispose]();
  machine = null;
});

function setup(datasets = ["tank/src@s1", "tank/src@s2", "backup/pull", "backup/sink"]) {
  machine = localJobMachine({ datasets });
  return machine;
}

/** stdout as the one JSON document it must be (a second line or trailing text fails). */
function documentOf(stdout: string): JsonReport {
  expect(stdout.endsWith("\n")).toBe(true);
  expect(stdout.trimEnd().split("\n")).toHaveLength(1);
  return JSON.parse(stdout) as JsonReport;
}

test("zferry run p --dry-run --json: the plan on stdout, the table on stderr, nothing changed", async () => {
  const m = setup();
  const run = await m.zferry(["run", "p", "--dry-run", "--json"]);
  expect(run.exitCode).toBe(0);
  expect(documentOf(run.stdout)).toEqual({
    version: 1,
    action: "pull",
    job: "p",
    dry_run: true,
    ok: true,
    elapsed_seconds: expect.any(Number),
    filesystems: [
      { name: "tank", plan: { kind: "skip", reason: "the source has no snapshots yet" }, estimated_bytes: null, status: "skipped", snapshots: 0, bytes: 0, wire_bytes: 0, reason: "the source has no snapshots yet" },
      {
        name: "tank/src",
        plan: { kind: "replicate", initial: true, steps: [{ kind: "full", to: "s2", to_guid: expect.any(String) }] },
        estimated_bytes: expect.any(Number),
        status: "planned",
        snapshots: 0,
        bytes: 0,
        wire_bytes: 0,
      },
    ],
  });
  expect(run.stderr).toContain("FILESYSTEM");
  expect(run.stderr).toContain("nothing was changed");
  expect(m.fake.state().datasets["backup/pull/tank/src"]).toBeUndefined();
}, 60_000);

test("zferry push up --json: the outcome on stdout, the summary on stderr", async () => {
  const m = setup();
  const run = await m.zferry(["push", "up", "--json"]);
  expect(run.exitCode).toBe(0);
  const doc = documentOf(run.stdout);
  expect(doc).toMatchObject({ action: "push", job: "up", dry_run: false, ok: true, filesystems: [{ name: "tank/src", status: "done", snapshots: 1 }] });
  expect(doc.filesystems[0]!.bytes).toBeGreaterThan(0);
  expect(run.stderr).toContain("push up: 1 filesystem: 1 done");
}, 60_000);

test("a job that could not run prints its document with the reason, and exits 1", async () => {
  const m = setup(["tank/src@s1"]);
  const run = await m.zferry(["pull", "p", "--json"]);
  expect(run.exitCode).toBe(1);
  expect(documentOf(run.stdout)).toEqual({
    version: 1,
    action: "pull",
    job: "p",
    dry_run: false,
    ok: false,
    error: `The job's root "backup/pull" does not exist here: create it first, e.g. "zfs create -o mountpoint=none backup/pull"`,
    elapsed_seconds: expect.any(Number),
    filesystems: [],
  });
  expect(run.stderr).toStartWith("zferry: pull p: The job's root");
}, 60_000);
