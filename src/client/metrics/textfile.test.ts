import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseWithPrometheusParser, valueOf } from "../../../test/helpers/prometheus.ts";
import { lockFilePath, tryLockNamed } from "../../sys/tree-lock.ts";
import type { RunRecord } from "./job-samples.ts";
import { METRICS_LOCK_PREFIX, writeJobMetrics } from "./textfile.ts";

const root = mkdtempSync(join(tmpdir(), "zferry-textfile-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function paths() {
  const dir = join(root, `t${++n}`);
  return { dir, file: join(dir, "zferry.prom"), lockDir: join(dir, "locks") };
}

const run = (job: string, bytes = 100): RunRecord => ({ job, endedAt: 1_764_660_000, durationSeconds: 1, outcomes: [{ name: "tank/a", status: "done", bytes, snapshots: 1, elapsedMs: 10 }] });

test("writeJobMetrics creates the file and leaves no temporary file behind", async () => {
  const { dir, file, lockDir } = paths();
  mkdirSync(dir);
  await writeJobMetrics(file, run("prod"), { lockDir });
  expect(valueOf(parseWithPrometheusParser(readFileSync(file, "utf8")), "zferry_filesystem_bytes_total", { job: "prod", filesystem: "tank/a" })).toBe(100);
  expect(readdirSync(dir).sort()).toEqual(["locks", "zferry.prom"]);
});

test("a file that is not valid exposition text is rewritten, not a reason to fail", async () => {
  const { dir, file, lockDir } = paths();
  mkdirSync(dir);
  writeFileSync(file, "garbage{ here\n\0\0\0");
  await writeJobMetrics(file, run("prod"), { lockDir });
  expect(parseWithPrometheusParser(readFileSync(file, "utf8")).every((s) => s.labels.job === "prod")).toBe(true);
});

test("eight jobs finishing at the same moment, each in its own process, all keep their lines", async () => {
  const { dir, file, lockDir } = paths();
  mkdirSync(dir);
  const script = `import { writeJobMetrics } from ${JSON.stringify(join(import.meta.dir, "textfile.ts"))};
const job = process.argv[2];
await writeJobMetrics(${JSON.stringify(file)}, { job, endedAt: 1, durationSeconds: 1, outcomes: [{ name: "tank/" + job, status: "done", bytes: 7, snapshots: 1 }] }, { lockDir: ${JSON.stringify(lockDir)} });`;
  const entry = join(dir, "writer.ts");
  writeFileSync(entry, script);
  const jobs = Array.from({ length: 8 }, (_, i) => `j${i}`);
  const procs = jobs.map((job) => Bun.spawn([process.execPath, entry, job], { stdout: "pipe", stderr: "pipe" }));
  const results = await Promise.all(procs.map(async (p) => ({ code: await p.exited, stderr: await p.stderr.text() })));
  expect(results).toEqual(jobs.map(() => ({ code: 0, stderr: "" })));
  const samples = parseWithPrometheusParser(readFileSync(file, "utf8"));
  for (const job of jobs) expect(valueOf(samples, "zferry_job_runs_total", { job })).toBe(1);
});

test("a lock held longer than the wait is an error naming the lock, and the file stays as it was", async () => {
  const { dir, file, lockDir } = paths();
  mkdirSync(dir);
  await writeJobMetrics(file, run("prod"), { lockDir });
  const before = readFileSync(file, "utf8");
  const lock = tryLockNamed(lockFilePath(lockDir, file, { prefix: METRICS_LOCK_PREFIX }));
  if (!("held" in lock)) throw new Error("lock busy");
  using _held = lock.held;
  const attempt = writeJobMetrics(file, run("prod", 5), { lockDir, lockWaitMs: 100 });
  await expect(attempt).rejects.toThrow(`still held after 0.1 s by pid ${process.pid}`);
  expect(readFileSync(file, "utf8")).toBe(before);
});

test("a directory that does not exist is an error naming the file", async () => {
  const { file } = paths();
  const lockDir = join(root, `locks-${n}`);
  await expect(writeJobMetrics(file, run("prod"), { lockDir })).rejects.toThrow(`Cannot write "${file}": `);
});
