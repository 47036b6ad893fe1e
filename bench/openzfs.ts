/**
 * `npm run bench -- openzfs`: a wide tree on real OpenZFS, in the test harness's guest (QEMU,
 * pure emulation, where every zfs process costs about half a second, so the figures count zfs
 * processes more than anything else). N filesystems (BENCH_OPENZFS_N, default 100) under one
 * parent, a small file each; every subject local (no ssh), timed inside the guest:
 *
 * - initial: `zferry pull` (compiled, local connect) against the shell loop
 *   `zfs send fs@s1 | zfs recv -u` over the same filesystems, one after the other;
 * - no-op: the run that finds everything up to date from the versions, then the next one, which
 *   has the unchanged marks (snapshots_changed) and lists datasets alone;
 * - incremental: a small change and a snapshot in every filesystem, against the loop of
 *   `zfs send -i … | zfs recv -u`;
 * - the backup cycle (`zferry run`) of fewer filesystems, against a script (openzfs-cycle.ts).
 *
 * BENCH_RUNS (default 1 here: a run of the whole set takes minutes) repeats each phase on a
 * fresh tree; medians are printed. The guest boots for the bench (about a minute).
 */
import { openzfs, type Guest } from "../test/openzfs/guest.ts";
import { createScenario } from "../test/openzfs/scenario.ts";
import { median, printFigure, printHeader, timeThere, type Figure } from "./lib.ts";
import { openzfsCycleFigure } from "./openzfs-cycle.ts";

const N = Number(process.env.BENCH_OPENZFS_N ?? 100);
const RUNS = Number(process.env.BENCH_RUNS ?? 1);

export async function openzfsBench(): Promise<void> {
  const g = await openzfs();
  printHeader(`zferry on OpenZFS (\`npm run bench -- openzfs\`): ${g.state.zfsVersion} in the QEMU guest, N = ${N} filesystems + parent, local connect, compiled binary, seconds`);
  const phases: Record<string, { zferry: number[]; baseline: number[] }> = {};
  const add = (phase: string, zferry: number, baseline: number) => {
    phases[phase] ??= { zferry: [], baseline: [] };
    phases[phase].zferry.push(zferry);
    phases[phase].baseline.push(baseline);
  };
  for (let run = 0; run < RUNS; run++) {
    const r = await oneRun(g, run);
    add("initial (vs the sequential `zfs send | zfs recv -u` loop)", r.initial, r.loopInitial);
    add("no-op, first run after the initial (vs one `zfs list -t snapshot -r` per side)", r.noop, r.list);
    add("no-op with unchanged marks (vs one `zfs list -t snapshot -r` per side)", r.noopMarked, r.list);
    add("incremental, a small change in every filesystem (vs the sequential `zfs send -i | zfs recv -u` loop)", r.incremental, r.loopIncremental);
  }
  for (const [name, p] of Object.entries(phases)) {
    const f: Figure = { name, zferry: median(p.zferry) * 1000, baseline: median(p.baseline) * 1000, unit: "ms", note: `${RUNS} run${RUNS === 1 ? "" : "s"}; zferry ${fmt(p.zferry)} s, baseline ${fmt(p.baseline)} s` };
    printFigure(f);
  }
  printFigure(await openzfsCycleFigure(g, RUNS));
}

function fmt(xs: number[]): string {
  return xs.map((x) => x.toFixed(1)).join(", ");
}

async function oneRun(g: Guest, run: number) {
  await using s = await createScenario(g, `bench${run}`);
  const names = Array.from({ length: N }, (_, i) => `f${String(i).padStart(3, "0")}`);
  await s.configure({
    server: "",
    client: [
      `[locks]\ndir = "${s.dir}/locks"`,
      `[log]\nlevel = "warn"`,
      `[clients.b]\nfilesystems = { "${s.src}/w<" = true }`,
      `[jobs.wide]\ntype = "pull"\nconnect = { type = "local", identity = "b" }\nroot = "${s.dst}/z"`,
    ].join("\n"),
  });
  // The tree: N filesystems with a small file each, snapshotted at once.
  await g.sh(
    [
      `zfs create ${s.src}/w`,
      `for n in ${names.join(" ")}; do zfs create ${s.src}/w/$n && echo $n > /${s.src}/w/$n/file; done`,
      `zfs snapshot -r ${s.src}/w@s1`,
      `zfs create ${s.dst}/z`,
      `zfs create ${s.dst}/loop`,
    ].join(" && "),
  );
  const timed = (script: string) => timeThere((line) => g.sh(line), script);
  const zferry = () => timed(s.command(["pull", "wide"]));
  const loopInitial = await timed(`zfs send ${s.src}/w@s1 | zfs recv -u ${s.dst}/loop/w && for n in ${names.join(" ")}; do zfs send ${s.src}/w/$n@s1 | zfs recv -u ${s.dst}/loop/w/$n; done`);
  // A dry run first: the binary's first start reads its 107 MiB from the guest's disk, where the
  // loop's zfs was read long before (and the dry run lists no more than the loop has read).
  await timed(s.command(["pull", "wide", "--dry-run"]));
  const initial = await zferry();
  const list = await timed(`zfs list -H -t snapshot -r ${s.src}/w && zfs list -H -t snapshot -r ${s.dst}/z`);
  const noop = await zferry();
  const noopMarked = await zferry();
  await g.sh(`for n in ${names.join(" ")}; do echo more >> /${s.src}/w/$n/file; done && zfs snapshot -r ${s.src}/w@s2`);
  const loopIncremental = await timed(`zfs send -i @s1 ${s.src}/w@s2 | zfs recv -u ${s.dst}/loop/w && for n in ${names.join(" ")}; do zfs send -i @s1 ${s.src}/w/$n@s2 | zfs recv -u ${s.dst}/loop/w/$n; done`);
  const incremental = await zferry();
  return { initial, loopInitial, list, noop, noopMarked, incremental, loopIncremental };
}
