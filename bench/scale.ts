/**
 * `npm run bench -- scale [--quick]`: what a job costs on a wide tree, side by side with what zfs
 * itself needs, on zfs-fuse with the compiled binary and a local connect (no ssh):
 *
 * - no-op check of N filesystems (all up to date) against one `zfs list -t snapshot -r` of
 *   each side, once zfs-fuse's ARC has settled (see settleArc);
 * - incremental of N filesystems with one small change each against the shell loop
 *   `zfs send -i | zfs recv` over the same filesystems, sequential and 4 at a time, and the
 *   loop 4 at a time plus one listing of each side after it (the least a job that plans from
 *   listings can cost where, as here, both sides share one zfs-fuse daemon);
 * - with the fake zfs (compiled): a no-op of 10 000 filesystems × 30 snapshots, wall time and the
 *   job's peak RSS, first with the fake, then with the fake's listings replayed as recorded
 *   (zferry's own cost), beside the fake's listings timed alone; a pull over ssh of 8 × 512 MiB
 *   filesystems with concurrency 4, against 4 `zfs send | ssh … cat` pipelines at a time over the
 *   same 8.
 *
 * N is 200 (BENCH_SCALE_N); `--quick` uses 40 and a 1 000-filesystem fake tree; `--fake` runs the
 * fake-zfs figures alone.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileFakeZfs, createFakeZfs } from "../test/fake-zfs/fixture.ts";
import type { FakeDataset, FakeState } from "../test/fake-zfs/state.ts";
import { createTestPool, ensureZfsFuse, zfsCli } from "../test/harness/pool.ts";
import { watchProcess } from "../test/helpers/process-watch.ts";
import { startSshd } from "../test/harness/sshd.ts";
import { benchConfig as config, benchRuns, buildZferry, compareThroughput, median, printFigure, printHeader, timeShell, type Figure } from "./lib.ts";

const quick = process.argv.includes("--quick");
const N = Number(process.env.BENCH_SCALE_N ?? (quick ? 40 : 200));
const FAKE_FS = quick ? 1_000 : 10_000;
const FAKE_SNAPS = 30;

export async function scaleBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "zferry-bench-scale-"));
  try {
    const zferry = await buildZferry(dir);
    printHeader(`zferry scale bench (\`npm run bench -- scale${quick ? " --quick" : ""}\`): N = ${N} filesystems on zfs-fuse, local connect, compiled binary`);
    const notes: string[] = [];
    if (!process.argv.includes("--fake")) {
      const fuse = await zfsFuseFigures(dir, zferry);
      for (const f of fuse.figures) printFigure(f);
      notes.push(fuse.settled);
    }
    printFigure(await parallelSshFigure(dir, zferry));
    notes.push(await fakeFigure(dir, zferry));
    process.stdout.write(`\n${notes.join("\n\n")}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function zfsFuseFigures(dir: string, zferry: string): Promise<{ figures: Figure[]; settled: string }> {
  const fuse = await ensureZfsFuse();
  if (!fuse.ok) throw new Error(`zfs-fuse: ${fuse.reason}`);
  // Each filesystem takes some 150 KiB of metadata per copy, and the target pool holds three
  // copies (zferry's and the two loops'): 1000 filesystems fill the default 512 MiB.
  const size = `${512 + N}M`;
  await using src = await createTestPool("zfbench", size);
  await using dst = await createTestPool("zfbench", size);
  const S = src.name;
  const D = dst.name;
  await zfsCli(["create", "-o", "mountpoint=none", `${S}/w`]);
  const names = Array.from({ length: N }, (_, i) => `w/f${String(i).padStart(4, "0")}`);
  for (const n of names) await zfsCli(["create", "-o", "mountpoint=none", `${S}/${n}`]);
  await zfsCli(["snapshot", "-r", `${S}/w@s0`]);
  for (const t of ["z", "loop", "par"]) await zfsCli(["create", "-o", "mountpoint=none", `${D}/${t}`]);
  for (const t of ["loop", "par"]) await zfsCli(["create", "-o", "mountpoint=none", `${D}/${t}/w`]);
  const file = config(
    dir,
    `[clients.b]\nfilesystems = { "${S}/w<" = true }\n` +
      `[jobs.wide]\ntype = "pull"\nconnect = { type = "local", identity = "b" }\nroot = "${D}/z"\nfilesystems = { "${S}/w<" = true, "${S}/w" = false }\n`,
  );
  const pull = `${zferry} pull wide --config ${file}`;
  // Initial state for every subject: everything at s0.
  await timeShell(pull);
  const loop = (target: string, from: string, to: string, parallel: number) =>
    `printf '%s\\n' ${names.join(" ")} | xargs -P ${parallel} -I{} sh -c 'zfs send -i ${S}/{}@${from} ${S}/{}@${to} | zfs recv ${D}/${target}/{}'`;
  await timeShell(`for n in ${names.join(" ")}; do zfs send ${S}/$n@s0 | zfs recv ${D}/loop/$n; zfs send ${S}/$n@s0 | zfs recv ${D}/par/$n; done`);

  const listings = `zfs list -H -t snapshot -r ${S}/w >/dev/null && zfs list -H -t snapshot -r ${D}/z >/dev/null`;
  const settled = await settleArc(listings);
  const figures: Figure[] = [];
  const runs = benchRuns();
  const noop: number[] = [];
  const list: number[] = [];
  for (let i = 0; i < runs; i++) {
    list.push(await timeShell(listings));
    noop.push(await timeShell(pull));
  }
  figures.push({ name: `no-op check, ${N} filesystems (vs one listing per side)`, zferry: median(noop) * 1000, baseline: median(list) * 1000, unit: "ms", note: `${runs} runs` });

  const inc: number[] = [];
  const seq: number[] = [];
  const par: number[] = [];
  const floor: number[] = [];
  const parListings = `zfs list -H -t snapshot -r ${S}/w >/dev/null && zfs list -H -t snapshot -r ${D}/par >/dev/null`;
  for (let i = 1; i <= runs; i++) {
    // A small change in each filesystem: a new snapshot after one written file's worth of change.
    await zfsCli(["snapshot", "-r", `${S}/w@s${i}`]);
    // The one zfs-fuse daemon serves all three, and what one leaves it doing slows the next: each
    // run starts with another of them.
    const subjects = [
      async () => inc.push(await timeShell(pull)),
      async () => seq.push(await timeShell(loop("loop", `s${i - 1}`, `s${i}`, 1))),
      async () => {
        par.push(await timeShell(loop("par", `s${i - 1}`, `s${i}`, 4)));
        floor.push(par.at(-1)! + (await timeShell(parListings)));
      },
    ];
    for (let k = 0; k < subjects.length; k++) await subjects[(i - 1 + k) % subjects.length]!();
  }
  figures.push({ name: `incremental, ${N} filesystems (vs sequential send | recv loop)`, zferry: median(inc) * 1000, baseline: median(seq) * 1000, unit: "ms", note: `${runs} runs, concurrency 4` });
  figures.push({ name: `incremental, ${N} filesystems (vs the loop 4 at a time)`, zferry: median(inc) * 1000, baseline: median(par) * 1000, unit: "ms", note: `${runs} runs, concurrency 4` });
  // The least any tool that plans from a listing of each side can spend where both sides share
  // the one zfs-fuse daemon, which works one core's worth and serialises listings and receives:
  // the loop's sends and receives, plus the listings (timed right after the loop, of its target).
  figures.push({ name: `incremental, ${N} filesystems (vs the loop 4 at a time + one listing of each side)`, zferry: median(inc) * 1000, baseline: median(floor) * 1000, unit: "ms", note: `${runs} runs, concurrency 4` });
  return { figures, settled };
}

const ARCSTATS = "/zfs-kstat/zfs/arcstats";
const SETTLED_MISS_RATE = 0.02;
const MAX_SETTLE_LISTINGS = 20;

/**
 * Lists both sides (untimed) until zfs-fuse's ARC holds their metadata, and says how it went.
 * Right after the trees are built, a listing of one side can miss the ARC 40 000 times where it
 * later misses 1 000, and take five times as long; a few listings of both sides settle it
 * (Debian's zfs-fuse keeps at most 100 MiB of ARC, a quarter of it metadata). The figures are
 * meant for a daemon in its steady state, as a job run every few minutes finds it. Where the
 * daemon shows no ARC counters (`/zfs-kstat` not mounted), three listings stand in.
 */
async function settleArc(listings: string): Promise<string> {
  const counters = existsSync(`${ARCSTATS}/misses`);
  const read = (name: string) => Number(readFileSync(`${ARCSTATS}/${name}`, "utf8"));
  const rates: string[] = [];
  for (let k = 1; k <= (counters ? MAX_SETTLE_LISTINGS : 3); k++) {
    const [hits, misses] = counters ? [read("hits"), read("misses")] : [0, 0];
    const seconds = await timeShell(listings);
    if (!counters) continue;
    const missed = read("misses") - misses;
    const rate = missed / Math.max(1, missed + read("hits") - hits);
    rates.push(`${seconds.toFixed(2)} s, ${(rate * 100).toFixed(1)}%`);
    if (rate < SETTLED_MISS_RATE) return `zfs-fuse's ARC settled after ${k} listing(s) of both sides (time and ARC misses of each: ${rates.join("; ")})`;
  }
  return counters
    ? `zfs-fuse's ARC did not settle in ${MAX_SETTLE_LISTINGS} listings of both sides (${rates.join("; ")}); the zfs-fuse figures above are of an unsettled daemon`
    : "zfs-fuse shows no ARC counters (/zfs-kstat): three untimed listings of both sides first";
}

const PARALLEL_FS = 8;
const PARALLEL_BYTES = Number(process.env.BENCH_PARALLEL_MIB ?? (quick ? 128 : 512)) * (1 << 20);
const CIPHER = "Ciphers=aes128-gcm@openssh.com";

/**
 * Filesystems in parallel over ssh: a pull of PARALLEL_FS fake filesystems of PARALLEL_BYTES each
 * with concurrency 4 (four stdinserver sessions, two per shared connection by default),
 * against the same filesystems sent by four `zfs send | ssh … 'cat > /dev/null'` pipelines at a
 * time (four connections). Fresh fakes each run, so every run is an initial pull.
 */
async function parallelSshFigure(dir: string, zferry: string): Promise<Figure> {
  const program = compileFakeZfs(join(dir, "fake-zfs-par"));
  const serverConfig = join(dir, "server-par.toml");
  const names = Array.from({ length: PARALLEL_FS }, (_, i) => `tank/p/f${i}`);
  await using sshd = await startSshd([{ command: `env ZFERRY_CONFIG=${serverConfig} ${zferry} stdinserver bench` }, { command: "cat > /dev/null" }]);
  const c = sshd.sshConnect(0);
  const options = [...c.options, CIPHER].map((o) => JSON.stringify(o)).join(", ");
  const connect = `{ type = "ssh", host = "${c.host}", user = "${c.user}", port = ${c.port}, identity_file = "${c.identity_file}", options = [${options}] }`;
  const plain = sshd.sshArgv([], { key: 1 });
  const sshCat = [plain[0]!, "-o", CIPHER, ...plain.slice(1)].map((a) => `'${a}'`).join(" ");
  const env = { FAKE_ZFS_SEND_BYTES: String(PARALLEL_BYTES) };
  const pull = async () => {
    using src = createFakeZfs({ datasets: names.map((n) => `${n}@s1`), env, program });
    using dst = createFakeZfs({ datasets: ["sink/backup"], program });
    writeFileSync(serverConfig, `[zfs]\nbin = "${src.bin}"\n[log]\nlevel = "warn"\n[clients.bench]\nfilesystems = { "tank/p<" = true }\n`);
    const file = config(dir, `[zfs]\nbin = "${dst.bin}"\n[jobs.par]\ntype = "pull"\nconnect = ${connect}\nroot = "sink/backup"\nfilesystems = { "tank/p<" = true, "tank/p" = false }\nconcurrency = 4\n`);
    return await timeShell(`${zferry} pull par --config ${file}`);
  };
  const pipelines = async () => {
    using src = createFakeZfs({ datasets: names.map((n) => `${n}@s1`), env, program });
    return await timeShell(`printf '%s\\n' ${names.join(" ")} | xargs -P 4 -I{} sh -c '${src.bin} send {}@s1 | ${sshCat.replaceAll("'", "")}'`);
  };
  return await compareThroughput( // `await`: sshd must outlive the runs (await using)
    `pull over ssh of ${PARALLEL_FS} × ${PARALLEL_BYTES >> 20} MiB filesystems, concurrency 4; against 4 \`zfs send \\| ssh … 'cat > /dev/null'\` at a time`,
    PARALLEL_FS * PARALLEL_BYTES,
    pull,
    pipelines,
  );
}

/**
 * A fake tree of FAKE_FS × FAKE_SNAPS, already replicated, as OpenZFS 2.2+ shows it (with
 * snapshots_changed): a first no-op (no unchanged marks kept) lists every snapshot and keeps the
 * marks, a no-op after it lists datasets alone; then the first no-op again with the fake's
 * listings replayed. Three runs of each; wall time and the peak RSS of the job's process (client
 * and server).
 */
async function fakeFigure(dir: string, zferry: string): Promise<string> {
  const program = compileFakeZfs(join(dir, "fake-zfs"));
  using fake = createFakeZfs({ program });
  const state: FakeState = { txg: 10, datasets: {} };
  const changed = 1_700_000_000 + FAKE_SNAPS;
  const ds = (guid: number): FakeDataset => ({ type: "filesystem", guid: String(guid), createtxg: 2, creation: 1_700_000_000, props: {}, snapshots: {}, bookmarks: {}, snapshotsChanged: changed });
  for (const pool of ["tank", "backup", "backup/pull", "backup/pull/tank"]) state.datasets[pool] = ds(state.txg++);
  state.datasets["backup/pull"]!.props.mountpoint = "none";
  for (let f = 0; f < FAKE_FS; f++) {
    const name = `tank/f${String(f).padStart(5, "0")}`;
    const source = (state.datasets[name] = ds(state.txg++));
    const target = (state.datasets[`backup/pull/${name}`] = ds(state.txg++));
    target.props.readonly = "on";
    for (let s = 0; s < FAKE_SNAPS; s++) {
      const v = { guid: String(1_000_000 + f * FAKE_SNAPS + s), createtxg: 100 + s, creation: 1_700_000_000 + s };
      source.snapshots[`s${s}`] = v;
      target.snapshots[`s${s}`] = { ...v };
    }
  }
  fake.setState(state);
  const job = (bin: string) => config(dir, `[zfs]\nbin = ${JSON.stringify(bin)}\n[clients.b]\nfilesystems = { "tank<" = true }\n[jobs.p]\ntype = "pull"\nconnect = { type = "local", identity = "b" }\nroot = "backup/pull"\n`);
  const file = job(fake.bin);
  const marks = join(dir, "locks", "job.p.unchanged.json");
  const firstRun = async () => {
    rmSync(marks, { force: true }); // each run lists every snapshot
    return await fakeNoOp(zferry, file);
  };
  const cold: Run[] = [];
  for (let i = 0; i < 3; i++) cold.push(await firstRun());
  // The fake's listings take CPU the job's process needs too (two cores here). They are replayed
  // as recorded, so that zferry's own cost shows apart, and timed alone, side by side, as the job
  // starts them.
  const listings = uniqueCalls(fake.calls().filter((argv) => (argv[0] === "list" || argv[0] === "get") && argv.includes("-r")));
  const warm: Run[] = [];
  for (let i = 0; i < 3; i++) warm.push(await fakeNoOp(zferry, file));
  const fakeListing: number[] = [];
  for (let i = 0; i < 3; i++) fakeListing.push(await timeListings(fake.bin, listings));
  const replay = replayZfs(dir, fake.bin, listings);
  const replayFile = job(replay);
  const replayed: Run[] = [];
  for (let i = 0; i < 3; i++) {
    rmSync(marks, { force: true });
    replayed.push(await fakeNoOp(zferry, replayFile));
  }
  const peak = (rs: Run[]) => Math.max(...rs.map((r) => r.job)).toFixed(0);
  const secs = (rs: Run[]) => rs.map((r) => r.seconds.toFixed(2)).join(", ");
  const cpu = (rs: Run[]) => median(rs.map((r) => r.cpu)).toFixed(2);
  return (
    `fake zfs, no-op of ${FAKE_FS} filesystems × ${FAKE_SNAPS} snapshots: first run (no marks kept, lists every snapshot) ${median(cold.map((r) => r.seconds)).toFixed(2)} s (median of ${cold.length}; ${secs(cold)}), ${peak(cold)} MiB, job CPU ${cpu(cold)} s; ` +
    `with the unchanged marks ${median(warm.map((r) => r.seconds)).toFixed(2)} s (median of ${warm.length}; ${secs(warm)}), ${peak(warm)} MiB, job CPU ${cpu(warm)} s; ` +
    `the fake's own listings of both sides at once ${median(fakeListing).toFixed(2)} s (median of ${fakeListing.length}); ` +
    `first run with those listings replayed as recorded (zferry's own cost) ${median(replayed.map((r) => r.seconds)).toFixed(2)} s (median of ${replayed.length}; ${secs(replayed)}), ${peak(replayed)} MiB, job CPU ${cpu(replayed)} s ` +
    `(peak RSS and CPU time of the job's process, client and its local stdinserver, JIT and GC threads included)`
  );
}

type Run = Awaited<ReturnType<typeof fakeNoOp>>;

/**
 * One no-op run of the 10 000-filesystem job: its wall time, and its process's peak RSS and CPU
 * time (local connect serves the stdinserver inside the job's process: one process holds both
 * ends; its zfs processes are not counted).
 */
async function fakeNoOp(zferry: string, file: string): Promise<{ seconds: number; job: number; cpu: number }> {
  const t0 = performance.now();
  const proc = Bun.spawn([zferry, "pull", "p", "--config", file], { stdout: "pipe", stderr: "pipe" });
  const watch = watchProcess(proc.pid);
  const [out, err, code] = await Promise.all([proc.stdout.text(), proc.stderr.text(), proc.exited]);
  const seconds = (performance.now() - t0) / 1000;
  const { peakBytes, cpuSeconds } = watch.stop();
  if (code !== 0 || !out.includes(`${FAKE_FS} up to date`)) throw new Error(`fake no-op failed (${code}): ${err.slice(-500)}${out.slice(-500)}`);
  return { seconds, job: peakBytes / (1 << 20), cpu: cpuSeconds };
}

function uniqueCalls(calls: string[][]): string[][] {
  return [...new Map(calls.map((argv) => [JSON.stringify(argv), argv])).values()];
}

/** Wall time of `listings` run by the fake all at once, their output read and dropped. */
async function timeListings(bin: string, listings: readonly string[][]): Promise<number> {
  const t0 = performance.now();
  await Promise.all(listings.map((argv) => Bun.spawn([bin, ...argv], { stdout: "ignore", stderr: "ignore" }).exited));
  return (performance.now() - t0) / 1000;
}

/** A zfs that prints each of `listings` as the fake printed it once, and hands anything else to the fake. */
function replayZfs(dir: string, bin: string, listings: readonly string[][]): string {
  const cases = listings.map((argv, i) => {
    const out = join(dir, `listing-${i}.txt`);
    const done = Bun.spawnSync([bin, ...argv], { stdout: Bun.file(out), stderr: "ignore" });
    if (done.exitCode !== 0) throw new Error(`recording ${argv.join(" ")} failed`);
    return `  '${argv.join(" ")}') exec cat '${out}';;`;
  });
  const script = join(dir, "replay-zfs");
  writeFileSync(script, `#!/bin/sh\ncase "$*" in\n${cases.join("\n")}\nesac\nexec '${bin}' "$@"\n`, { mode: 0o755 });
  return script;
}
