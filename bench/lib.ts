/**
 * Bench plumbing: run zferry and its baseline alternately in the same process run, take medians,
 * print one line per figure. Times are wall clock of whole pipelines; the machine is shared, so
 * only ratios measured side by side mean anything.
 */
import { readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cpus, tmpdir, totalmem } from "node:os";

export const REPO = `${import.meta.dir}/..`;
export const BUN = process.execPath;
export const GIB = 1 << 30;

/** Bytes per run, from BENCH_GIB (default 2). */
export function benchBytes(defaultGib = 2): number {
  return Math.round(Number(process.env.BENCH_GIB ?? defaultGib) * GIB);
}

/** Runs per subject, from BENCH_RUNS (default 5, at least 3). */
export function benchRuns(): number {
  return Math.max(3, Number(process.env.BENCH_RUNS ?? 5));
}

export function machineLine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model ?? "cpu"}, ${(totalmem() / GIB).toFixed(0)} GiB, Bun ${Bun.version}, ${process.platform} ${process.arch}`;
}

/** Compiles zferry as `npm run build` does, into `dir`; returns the binary's path. */
export async function buildZferry(dir: string): Promise<string> {
  const out = join(dir, "zferry");
  const script: string = (await Bun.file(join(REPO, "package.json")).json()).scripts.build;
  const args = script.split(" ").slice(1).map((a) => (a === "dist/zferry" ? out : a));
  const proc = Bun.spawn([BUN, ...args], { cwd: REPO, stdout: "ignore", stderr: "pipe" });
  if ((await proc.exited) !== 0) throw new Error(`build failed: ${await proc.stderr.text()}`);
  return out;
}

/** A zferry config file in `dir`: `body` after quiet logging and job locks of its own. */
export function benchConfig(dir: string, body: string): string {
  const file = join(dir, `zferry-${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(file, `[locks]\ndir = ${JSON.stringify(join(dir, "locks"))}\n[log]\nlevel = "warn"\n${body}`);
  return file;
}

/** Runs `sh -c script` and returns its wall time in seconds; throws on a non-zero exit. */
export async function timeShell(script: string, env: Record<string, string> = {}): Promise<number> {
  const t0 = performance.now();
  const proc = Bun.spawn(["bash", "-o", "pipefail", "-c", script], { stdout: "ignore", stderr: "pipe", env: { ...process.env, ...env } });
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`bench pipeline failed (exit ${code}): ${script}\n${err.slice(-2000)}`);
  return seconds;
}

/**
 * Times `script` where `sh` runs it (a guest, another host): the clock is read there, around a
 * subshell, so that getting there is not counted. Returns seconds; throws when the script fails.
 */
export async function timeThere(sh: (script: string) => Promise<string>, script: string): Promise<number> {
  const out = await sh(`t0=$(date +%s.%N); ( ${script} ) >/dev/null || exit 1; t1=$(date +%s.%N); awk "BEGIN { print $t1 - $t0 }"`);
  return Number(out.trim());
}

/** Runs `bash -c script` and returns the CPU seconds (user + system) of everything it started. */
export async function cpuShell(script: string, env: Record<string, string> = {}): Promise<number> {
  const out = `${tmpdir()}/zferry-bench-times-${process.pid}`;
  const proc = Bun.spawn(["bash", "-o", "pipefail", "-c", `${script}\ntimes > ${out}`], { stdout: "ignore", stderr: "pipe", env: { ...process.env, ...env } });
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  if (code !== 0) throw new Error(`bench pipeline failed (exit ${code}): ${script}\n${err.slice(-2000)}`);
  // `times` prints the shell's own user and system time, then its children's: "0m1.234s 0m0.567s".
  const children = readFileSync(out, "utf8").trim().split("\n").at(-1)!;
  rmSync(out, { force: true });
  let sum = 0;
  for (const [, m, sec] of children.matchAll(/(\d+)m([\d.]+)s/g)) sum += Number(m) * 60 + Number(sec);
  return sum;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface Figure {
  name: string;
  zferry: number; // GiB/s (or ms for latency figures)
  baseline: number;
  /** core-s: CPU seconds of a whole process tree (its ratio is the cost multiple, zferry / baseline). */
  unit: "GiB/s" | "ms" | "MiB" | "core-s";
  note?: string;
}

/** Alternates subject and baseline `runs` times; returns median GiB/s of each. */
export async function compareThroughput(
  name: string,
  bytes: number,
  subject: () => Promise<number>,
  baseline: () => Promise<number>,
  runs = benchRuns(),
): Promise<Figure> {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    b.push(bytes / GIB / (await baseline()));
    a.push(bytes / GIB / (await subject()));
  }
  return { name, zferry: median(a), baseline: median(b), unit: "GiB/s", note: `${runs} runs × ${(bytes / GIB).toFixed(2)} GiB; zferry ${range(a)}, baseline ${range(b)}` };
}

/** Alternates subject and baseline `runs` times; returns the median seconds of each, in ms. */
export async function compareLatency(name: string, subject: () => Promise<number>, baseline: () => Promise<number>, runs = benchRuns()): Promise<Figure> {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    b.push((await baseline()) * 1000);
    a.push((await subject()) * 1000);
  }
  return { name, zferry: median(a), baseline: median(b), unit: "ms", note: `${runs} runs; zferry ${range(a, 0)} ms, baseline ${range(b, 0)} ms` };
}

export function printFigure(f: Figure): void {
  const ratio = f.unit === "GiB/s" || f.unit === "core-s" ? f.zferry / f.baseline : f.baseline / f.zferry;
  const fmt = (x: number) => (f.unit === "GiB/s" ? x.toFixed(2) : x.toFixed(1));
  process.stdout.write(`| ${f.name} | ${fmt(f.zferry)} ${f.unit} | ${fmt(f.baseline)} ${f.unit} | ${ratio.toFixed(2)}× | ${f.note ?? ""} |\n`);
}

export function printHeader(title: string): void {
  process.stdout.write(`\n${title}\n${machineLine()}\n\n| figure | zferry | baseline | ratio | runs |\n|---|---|---|---|---|\n`);
}

function range(xs: number[], digits = 2): string {
  return `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;
}

/**
 * Samples the peak RSS (MiB, from /proc every 20 ms) of the processes `classify` names by their
 * command line (NUL-separated, as /proc has it); `stop()` returns the peaks by name.
 */
export function sampleRss(classify: (cmdline: string) => string | null): { stop(): Record<string, number> } {
  const peaks: Record<string, number> = {};
  const timer = setInterval(() => {
    for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
      let cmd: string;
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      } catch {
        continue;
      }
      const name = classify(cmd);
      if (name !== null) peaks[name] = Math.max(peaks[name] ?? 0, rssMiB(pid));
    }
  }, 20);
  return {
    stop() {
      clearInterval(timer);
      return peaks;
    },
  };
}

function rssMiB(pid: string): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}
