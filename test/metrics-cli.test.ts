/**
 * `[metrics] textfile` through the real CLI: local-connect jobs on the fake zfs write their series
 * into one node_exporter textfile, read here with a real exposition-format parser. A pull and a
 * push share the file and keep each other's lines; a dry run writes nothing; a job that could not
 * run is recorded as a failed run.
 */
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { METRIC_FAMILIES } from "../src/client/metrics/catalog.ts";
import { localJobMachine, type LocalJobMachine } from "./helpers/local-job.ts";
import { parseWithPrometheusParser, valueOf, type ParsedSample } from "./helpers/prometheus.ts";

let machine: LocalJobMachine | null = null;
let dir = "";
afterEach(() => {
  machine?.[Symbol.dispose]();
  machine = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function setup(datasets = ["tank/src@s1", "backup/pull", "backup/sink"]) {
  dir = mkdtempSync(join(tmpdir(), "zferry-metrics-"));
  const textfile = join(dir, "zferry.prom");
  machine = localJobMachine({ datasets, extra: `[metrics]\ntextfile = ${JSON.stringify(textfile)}\n` });
  return { m: machine, textfile, read: (): ParsedSample[] => parseWithPrometheusParser(readFileSync(textfile, "utf8")) };
}

test("zferry run p, then zferry run up: one file, both jobs' series, each family typed once", async () => {
  const { m, read } = setup();
  const before = Date.now() / 1000;
  expect((await m.zferry(["run", "p"])).exitCode).toBe(0);
  const afterPull = read();
  const pulled = valueOf(afterPull, "zferry_filesystem_bytes_total", { job: "p", filesystem: "tank/src" });
  expect(pulled).toBeGreaterThan(64 * 1024);
  expect(valueOf(afterPull, "zferry_job_last_run_success", { job: "p" })).toBe(1);
  expect(valueOf(afterPull, "zferry_job_snapshots_total", { job: "p" })).toBe(1);
  const success = valueOf(afterPull, "zferry_job_last_success_timestamp_seconds", { job: "p" })!;
  expect(success).toBeGreaterThanOrEqual(before);
  expect(success).toBeLessThanOrEqual(Date.now() / 1000);

  expect((await m.zferry(["run", "up"])).exitCode).toBe(0);
  const both = read();
  expect(both.filter((s) => s.labels.job === "p")).toEqual(afterPull);
  expect(valueOf(both, "zferry_filesystem_snapshots_total", { job: "up", filesystem: "tank/src" })).toBe(1);
  // Every family zferry writes is in the catalog, with its type and HELP text.
  const families = new Map(METRIC_FAMILIES.map((f) => [f.name, f]));
  for (const s of both) expect({ name: s.name, type: s.type, help: s.help }).toEqual({ name: s.name, type: families.get(s.name)!.type.toUpperCase(), help: families.get(s.name)!.help });

  // The next pull has nothing to do: its counters stay, its run counter and times move on.
  expect((await m.zferry(["pull", "p"])).exitCode).toBe(0);
  const again = read();
  expect(valueOf(again, "zferry_filesystem_bytes_total", { job: "p", filesystem: "tank/src" })).toBe(pulled!);
  expect(valueOf(again, "zferry_job_runs_total", { job: "p" })).toBe(2);
  expect(valueOf(again, "zferry_job_last_success_timestamp_seconds", { job: "p" })).toBeGreaterThanOrEqual(success);
}, 60_000);

test("a dry run writes no metrics", async () => {
  const { m, textfile } = setup();
  const run = await m.zferry(["run", "p", "--dry-run"]);
  expect(run.exitCode).toBe(0);
  expect(existsSync(textfile)).toBe(false);
}, 60_000);

test("a job that could not run (no root) is recorded as a failed run without a last success", async () => {
  const { m, read } = setup(["tank/src@s1"]);
  const run = await m.zferry(["run", "p"]);
  expect(run.exitCode).toBe(1);
  const samples = read();
  expect(valueOf(samples, "zferry_job_last_run_success", { job: "p" })).toBe(0);
  expect(valueOf(samples, "zferry_job_failed_runs_total", { job: "p" })).toBe(1);
  expect(valueOf(samples, "zferry_job_last_success_timestamp_seconds", { job: "p" })).toBeUndefined();
  expect(samples.some((s) => s.labels.filesystem !== undefined)).toBe(false);
}, 60_000);

test("a textfile that cannot be written is one line on stderr; the run's exit code stands", async () => {
  const { m, textfile } = setup();
  rmSync(dir, { recursive: true, force: true });
  const run = await m.zferry(["run", "p"]);
  expect(run.exitCode).toBe(0);
  expect(run.stderr).toStartWith(`zferry: pull p: metrics not written: Cannot write "${textfile}": `);
  expect(run.stderr.trim().split("\n")).toHaveLength(1);
}, 60_000);
