/**
 * The backup cycle on real OpenZFS, in the test guest: `zferry run` (compiled, local connect) of N
 * filesystems (BENCH_OPENZFS_CYCLE_N, default 20), against the script of bench/cycle.ts doing
 * the same work 4 filesystems at a time. Under emulation every zfs process costs about half a
 * second, so this counts zfs processes: the script's 9 a filesystem against zferry's listings,
 * checks and bookmark cursor.
 *
 * Both trees start in the steady state (three hourly snapshots replicated, the newest held on
 * both sides, the sender left with the last two), each runs one untimed cycle (zferry's first also makes its cursor), then `runs`
 * cycles each, alternating which goes first.
 */
import type { Guest } from "../test/openzfs/guest.ts";
import { createScenario } from "../test/openzfs/scenario.ts";
import { compareCycles, cycleConfig, cycleTrees, isoHour, scriptCommand, scriptCycle, snapshotName } from "./cycle.ts";
import { timeThere, type Figure } from "./lib.ts";

const N = Number(process.env.BENCH_OPENZFS_CYCLE_N ?? 20);
/** Hours 0, 1 and 2 exist before the first cycle: each side's rule drops one snapshot from hour 3 on. */
const FIRST_HOUR = 3;

export async function openzfsCycleFigure(g: Guest, runs: number): Promise<Figure> {
  await using s = await createScenario(g, "cycle");
  const names = Array.from({ length: N }, (_, i) => `f${String(i).padStart(3, "0")}`);
  const S = s.src;
  const D = s.dst;
  await s.configure({
    server: "",
    client: [
      `[locks]\ndir = "${s.dir}/locks"`,
      `[log]\nlevel = "warn"`,
      cycleConfig(S, D),
    ].join("\n"),
  });
  const each = (tree: string, suffix = "") => names.map((n) => `${tree}/${n}${suffix}`).join(" ");
  const hours = [0, 1, 2].map(snapshotName);
  const base = hours.at(-1)!;
  await g.sh(
    [
      `zfs create ${S}/w && zfs create ${S}/v && zfs create -o mountpoint=none ${D}/z && zfs create -o mountpoint=none ${D}/v`,
      `for n in ${names.join(" ")}; do zfs create ${S}/w/$n && zfs create ${S}/v/$n && echo $n > /${S}/w/$n/file && echo $n > /${S}/v/$n/file; done`,
      ...hours.map((h) => `zfs snapshot ${each(`${S}/w`, `@${h}`)} ${each(`${S}/v`, `@${h}`)}`),
      `for n in ${names.join(" ")}; do zfs send -R ${S}/v/$n@${base} | zfs recv -u ${D}/v/$n; done`,
      `zfs hold loop ${each(`${S}/v`, `@${base}`)} ${each(`${D}/v`, `@${base}`)}`,
      `( ${s.command(["pull", "cycle"])} )`,
      `zfs hold zferry_b ${each(`${S}/w`, `@${base}`)} ${each(`${D}/z/${S}/w`, `@${base}`)}`,
      // The sender keeps two: hour 0 goes once replicated.
      `for n in ${names.join(" ")}; do zfs destroy ${S}/w/$n@${hours[0]} && zfs destroy ${S}/v/$n@${hours[0]}; done`,
      `cat > ${s.dir}/cycle-one.sh <<'EOF_SCRIPT'\n${scriptCycle(`${S}/v`, `${D}/v`)}EOF_SCRIPT`,
    ].join(" && "),
  );
  const sh = (script: string) => g.sh(script);
  const runZferry = (hour: number) => timeThere(sh, `export ZFERRY_NOW=${isoHour(hour)}; ${s.command(["run", "cycle"])}`);
  const runScript = (hour: number) => timeThere(sh, scriptCommand(`${s.dir}/cycle-one.sh`, names, hour));
  await runZferry(FIRST_HOUR);
  await runScript(FIRST_HOUR);
  // Awaited here, not returned as a promise: the scenario goes when this function returns.
  return await compareCycles({
    filesystems: N,
    zferry: runZferry,
    script: runScript,
    firstHour: FIRST_HOUR + 1,
    runs,
    untimed: "one untimed",
    trees: cycleTrees(S, D),
    snapshotsBelow: async (root) => (await g.sh(`zfs list -H -o name -t snapshot -r ${root} | cut -c${root.length + 2}- | sort`)).trim(),
  });
}
