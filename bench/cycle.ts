/**
 * `npm run bench -- cycle`: the backup cycle (`zferry run` of a pull job with a snapshot prefix
 * and keep rules) on a wide tree on zfs-fuse, compiled binary, local connect, against the same
 * work as a shell script that knows every name in advance. Per filesystem, 4 at a time, the
 * script runs `zfs snapshot`, `zfs send -i | zfs recv`, holds the new base and releases the old on
 * both sides, and destroys the snapshot each side's rule drops: 9 zfs commands a filesystem and
 * no listing. zferry also lists both sides, and its server checks every hold and destroy against
 * its own listing of the dataset.
 *
 * Rules, both subjects: the sender keeps its last 2 snapshots, the receiver its last 3. Each
 * subject has its own tree of N filesystems (BENCH_CYCLE_N, default 200) in the same two pools,
 * so the one zfs-fuse daemon serves both. Three untimed cycles bring both to the steady state
 * (the rules destroy one snapshot a side and filesystem each hour), then BENCH_RUNS cycles each,
 * alternating which goes first.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestPool, ensureZfsFuse, zfsCli } from "../test/harness/pool.ts";
import { benchConfig, benchRuns, buildZferry, median, printFigure, printHeader, timeShell, type Figure } from "./lib.ts";

const N = Number(process.env.BENCH_CYCLE_N ?? 200);
const WARM_CYCLES = 3;
const PREFIX = "zferry_";
const SENDER_KEEPS = 2;
const RECEIVER_KEEPS = 3;

export async function cycleBench(): Promise<void> {
  const fuse = await ensureZfsFuse();
  if (!fuse.ok) throw new Error(`zfs-fuse: ${fuse.reason}`);
  const dir = mkdtempSync(join(tmpdir(), "zferry-bench-cycle-"));
  try {
    const zferry = await buildZferry(dir);
    printHeader(`zferry backup cycle (\`npm run bench -- cycle\`): N = ${N} filesystems on zfs-fuse, local connect, compiled binary, concurrency 4`);
    printFigure(await cycleFigure(dir, zferry));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function cycleFigure(dir: string, zferry: string): Promise<Figure> {
  const size = `${512 + N}M`;
  await using src = await createTestPool("zfcycle", size);
  await using dst = await createTestPool("zfcycle", size);
  const S = src.name;
  const D = dst.name;
  const names = Array.from({ length: N }, (_, i) => `f${String(i).padStart(4, "0")}`);
  const first = snapshotName(0);
  // zferry's tree is w, the script's v; each starts with one snapshot replicated and held.
  for (const tree of ["w", "v"]) {
    await zfsCli(["create", "-o", "mountpoint=none", `${S}/${tree}`]);
    for (const n of names) await zfsCli(["create", "-o", "mountpoint=none", `${S}/${tree}/${n}`]);
  }
  await zfsCli(["create", "-o", "mountpoint=none", `${D}/z`]);
  await zfsCli(["create", "-o", "mountpoint=none", `${D}/v`]);
  await timeShell(`for t in w v; do for n in ${names.join(" ")}; do zfs snapshot ${S}/$t/$n@${first}; done; done`);
  await timeShell(`for n in ${names.join(" ")}; do zfs send ${S}/v/$n@${first} | zfs recv ${D}/v/$n && zfs hold loop ${S}/v/$n@${first} && zfs hold loop ${D}/v/$n@${first}; done`);
  const file = benchConfig(dir, cycleConfig(S, D));
  // The first cycle pulls everything in full: what the script's setup did above.
  await timeShell(`${zferry} pull cycle --config ${file}`);

  const script = join(dir, "cycle-one.sh");
  writeFileSync(script, scriptCycle(`${S}/v`, `${D}/v`));
  const runZferry = (hour: number) => timeShell(`${zferry} run cycle --config ${file}`, { ZFERRY_NOW: isoHour(hour) });
  const runScript = (hour: number) => timeShell(scriptCommand(script, names, hour));
  for (let hour = 1; hour <= WARM_CYCLES; hour++) {
    await runZferry(hour);
    await runScript(hour);
  }
  // Awaited here, not returned as a promise: the pools go when this function returns.
  return await compareCycles({
    filesystems: N,
    zferry: runZferry,
    script: runScript,
    firstHour: WARM_CYCLES + 1,
    runs: benchRuns(),
    untimed: `${WARM_CYCLES} untimed`,
    trees: cycleTrees(S, D),
    snapshotsBelow,
  });
}

/** What a cycle bench compares, wherever it runs. */
export interface CycleComparison {
  readonly filesystems: number;
  /** One cycle of `hour` by each, timed in seconds. */
  readonly zferry: (hour: number) => Promise<number>;
  readonly script: (hour: number) => Promise<number>;
  readonly firstHour: number;
  readonly runs: number;
  /** What ran before, for the figure's note. */
  readonly untimed: string;
  /** Roots that must end up with the same snapshots: [zferry's, the script's], sender then receiver. */
  readonly trees: readonly (readonly [string, string])[];
  /** The snapshots below a root, as sorted `child@name` lines. */
  readonly snapshotsBelow: (root: string) => Promise<string>;
}

/**
 * `runs` hourly cycles of each from `firstHour`, alternating which goes first, then a check that
 * both left the same snapshots on each side.
 * @throws Error when they did not
 */
export async function compareCycles(c: CycleComparison): Promise<Figure> {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < c.runs; i++) {
    const hour = c.firstHour + i;
    const subjects = [async () => a.push(await c.zferry(hour)), async () => b.push(await c.script(hour))];
    for (let k = 0; k < subjects.length; k++) await subjects[(i + k) % subjects.length]!();
  }
  for (const [mine, theirs] of c.trees) {
    const [x, y] = [await c.snapshotsBelow(mine), await c.snapshotsBelow(theirs)];
    if (x !== y || x === "") throw new Error(`zferry's and the script's snapshots differ: below ${mine}\n${x}\nbelow ${theirs}\n${y}`);
  }
  const seconds = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(", ");
  return {
    name: `backup cycle, ${c.filesystems} filesystems (vs the script that knows every name, 4 at a time)`,
    zferry: median(a) * 1000,
    baseline: median(b) * 1000,
    unit: "ms",
    note: `${c.runs} run${c.runs === 1 ? "" : "s"} after ${c.untimed}; zferry ${seconds(a)} s, script ${seconds(b)} s`,
  };
}

/** The snapshots below `root`, as `child@name` lines, sorted. */
async function snapshotsBelow(root: string): Promise<string> {
  const out = await zfsCli(["list", "-H", "-o", "name", "-t", "snapshot", "-r", root]);
  return out.split("\n").filter(Boolean).map((line) => line.slice(root.length + 1)).sort().join("\n");
}

/**
 * The baseline's cycle of one filesystem, a script for `sh cycle-one.sh NAME NEW BASE SENDER_DROP
 * RECEIVER_DROP` ("-": none) that replicates `source/NAME` into `target/NAME`.
 */
export function scriptCycle(source: string, target: string): string {
  return [
    `set -e`,
    `src=${source}/$1; dst=${target}/$1`,
    `zfs snapshot $src@$2`,
    `zfs send -i $src@$3 $src@$2 | zfs recv $dst`,
    `zfs hold loop $src@$2; zfs release loop $src@$3`,
    `zfs hold loop $dst@$2; zfs release loop $dst@$3`,
    `[ "$4" = - ] || zfs destroy $src@$4`,
    `[ "$5" = - ] || zfs destroy $dst@$5`,
    ``,
  ].join("\n");
}

/** The baseline's whole cycle of `hour`: `script` (scriptCycle) for each of `names`, 4 at a time. */
export function scriptCommand(script: string, names: readonly string[], hour: number): string {
  const drop = (age: number) => (hour >= age ? snapshotName(hour - age) : "-");
  return `printf '%s\\n' ${names.join(" ")} | xargs -P 4 -I{} sh ${script} {} ${snapshotName(hour)} ${snapshotName(hour - 1)} ${drop(SENDER_KEEPS)} ${drop(RECEIVER_KEEPS)}`;
}

/**
 * zferry's side of a cycle bench, whose trees are `S/w` (zferry's source), `S/v` (the script's),
 * `D/z` and `D/v` (their targets): the identity `b` and the pull job `cycle` (local connect),
 * snapshots named PREFIX…, each side's rule as the script keeps.
 */
export function cycleConfig(S: string, D: string): string {
  return [
    `[clients.b]\nfilesystems = { "${S}/w<" = true }\nsnapshot = { prefix = "${PREFIX}" }\nprune = true`,
    `[jobs.cycle]\ntype = "pull"\nconnect = { type = "local", identity = "b" }\nroot = "${D}/z"\nfilesystems = { "${S}/w<" = true, "${S}/w" = false }`,
    `snapshot = { prefix = "${PREFIX}" }\nkeep_sender = [ { type = "last_n", count = ${SENDER_KEEPS} } ]\nkeep_receiver = [ { type = "last_n", count = ${RECEIVER_KEEPS} } ]\n`,
  ].join("\n");
}

/** The roots that must end with the same snapshots: [zferry's, the script's], sender then receiver. */
export function cycleTrees(S: string, D: string): [string, string][] {
  return [
    [`${S}/w`, `${S}/v`],
    [`${D}/z/${S}/w`, `${D}/v`],
  ];
}

/** The hour-th cycle's time (hourly from 2026-12-01T00:00Z), and the snapshot name zferry gives it. */
export function isoHour(hour: number): string {
  return new Date(Date.UTC(2026, 11, 1, hour)).toISOString().replace(/\.000Z$/, "Z");
}

export function snapshotName(hour: number): string {
  return `${PREFIX}${isoHour(hour).replace(/[-:]/g, "")}`;
}
