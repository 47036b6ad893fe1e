/**
 * The backup cycle's bookmark cursor on a real OpenZFS (the QEMU guest; see test/openzfs/):
 * `zferry run` leaves `#zferry_<identity>_<base>` beside the held base, moves it on the next run,
 * and when an admin releases and destroys the base snapshot anyway, the next run sends
 * incrementally from the cursor instead of starting over.
 *
 * Written against the guest harness like openzfs-send-options.test.ts; it needs the guest, which
 * the default test run does not boot (ZFERRY_TEST_OPENZFS=0 skips it).
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { describeOpenZfs, type Guest, openzfs, OPENZFS_TEST_TIMEOUT_MS } from "./openzfs/guest.ts";
import { createScenario, succeeded, type Scenario } from "./openzfs/scenario.ts";

setDefaultTimeout(OPENZFS_TEST_TIMEOUT_MS);

describeOpenZfs("backup cycle: bookmark cursors", () => {
  let g: Guest;
  let s: Scenario;
  const lines = async (cmd: string) => (await g.sh(cmd)).split("\n").filter(Boolean);

  beforeAll(async () => {
    g = await openzfs();
    s = await createScenario(g, "cursor");
    await s.configure({
      server: [`[clients.backup1]`, `filesystems = { "${s.src}/c" = true }`, `snapshot = { prefix = "zferry_" }`, `prune = true`].join("\n"),
      client: s.job("cur", "pull", {
        root: `"${s.dst}/r"`,
        snapshot: `{ prefix = "zferry_" }`,
        keep_sender: `[ { type = "last_n", count = 1 } ]`,
        keep_receiver: `[ { type = "last_n", count = 5 } ]`,
      }),
    });
    await g.sh(`zfs create ${s.src}/c && echo one > /${s.src}/c/f && zfs create -o mountpoint=none ${s.dst}/r`);
  });
  afterAll(() => s?.[Symbol.asyncDispose]());

  async function runCycle(): Promise<string> {
    await g.sh("sleep 1.1"); // snapshot names have one-second resolution
    return succeeded(await s.zferry(["run", "cur"]));
  }

  test("each run moves the identity's cursor onto its held base", async () => {
    await runCycle();
    const [first] = await lines(`zfs list -H -o name -t snapshot ${s.src}/c`);
    const base = first!.slice(first!.indexOf("@") + 1);
    expect(await lines(`zfs list -H -o name -t bookmark ${s.src}/c`)).toEqual([`${s.src}/c#zferry_backup1_${base}`]);
    expect(await lines(`zfs holds -H ${s.src}/c@${base} | cut -f2`)).toEqual(["zferry_backup1"]);
    await runCycle();
    const snaps = await lines(`zfs list -H -o name -t snapshot ${s.src}/c`);
    expect(snaps.length).toBe(1); // last_n(1), the old base released and pruned
    const newBase = snaps[0]!.slice(snaps[0]!.indexOf("@") + 1);
    expect(await lines(`zfs list -H -o name -t bookmark ${s.src}/c`)).toEqual([`${s.src}/c#zferry_backup1_${newBase}`]);
  });

  test("after the base snapshot is destroyed by hand, the next run sends incrementally from the cursor", async () => {
    const [snap] = await lines(`zfs list -H -o name -t snapshot ${s.src}/c`);
    await g.sh(`zfs release zferry_backup1 ${snap} && echo two > /${s.src}/c/f && zfs snapshot ${s.src}/c@manual && zfs destroy ${snap}`);
    const base = snap!.slice(snap!.indexOf("@") + 1);
    const plan = succeeded(await s.zferry(["pull", "cur", "--dry-run"]));
    expect(plan).toContain(`#zferry_backup1_${base} → manual`);
    expect(await runCycle()).toContain("1 done");
  });
});
