/**
 * Unchanged filesystems cost nothing, on real OpenZFS 2.3 (the test guest) through sshd: once a
 * run found the tree up to date, the next lists datasets alone on both sides, and a new snapshot
 * brings back the versions of its source only. The client's debug log shows each zfs command.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { describeOpenZfs, type Guest, openzfs, OPENZFS_TEST_TIMEOUT_MS } from "./openzfs/guest.ts";
import { createScenario, succeeded, type Scenario } from "./openzfs/scenario.ts";

setDefaultTimeout(OPENZFS_TEST_TIMEOUT_MS);

const TREE = ["data", "data/a", "data/b"];

/** The `zfs list` and `zfs get` commands the client ran, from its debug log: which, their `-t` and their last argument. */
function listings(stderr: string): string[] {
  return [...stderr.matchAll(/run: zfs (list|get) (.*)$/gm)].map((m) => {
    const args = m[2]!.split(" ");
    return `${m[1]} ${args[args.indexOf("-t") + 1]} ${args.includes("-d") ? "-d " : ""}${args.at(-1)}`;
  });
}

describeOpenZfs("unchanged filesystems by snapshots_changed", () => {
  let g: Guest;
  let s: Scenario;

  beforeAll(async () => {
    g = await openzfs();
    s = await createScenario(g, "unchanged");
    await s.configure({
      server: [`[clients.backup1]`, `filesystems = { "${s.src}/data<" = true }`].join("\n"),
      client: [`[locks]\ndir = "${s.dir}/locks"`, `[log]\nlevel = "debug"`, s.job("p", "pull", { root: `"${s.dst}"` })].join("\n"),
    });
    await g.sh([...TREE.map((rel) => `zfs create ${s.src}/${rel}`), `echo x > /${s.src}/data/a/x.txt`, `zfs snapshot -r ${s.src}/data@s1`].join(" && "));
  });
  afterAll(() => s?.[Symbol.asyncDispose]());

  test("after an up-to-date run, the next lists no snapshot here; a new one on the source is sent alone, no target listed", async () => {
    expect(succeeded(await s.zferry(["pull", "p"]))).toContain("3 done");
    // Found up to date from the versions: the marks are kept, all of them once the last receive's
    // snapshots_changed is older than the second the next listing starts in.
    await Bun.sleep(1_100);
    const first = await s.zferry(["pull", "p"]);
    expect(succeeded(first)).toContain("0 done, 3 up to date");
    const store = JSON.parse((await g.run(`cat ${s.dir}/locks/job.p.unchanged.json`)).stdout);
    expect(Object.keys(store.entries).sort()).toEqual(TREE.map((rel) => `${s.src}/${rel}`));

    const noop = await s.zferry(["pull", "p"]);
    expect(succeeded(noop)).toContain("0 done, 3 up to date");
    // Datasets alone, in one zfs process: a `zfs get` brings the placeholder marks and confinement with them.
    expect(listings(noop.stderr)).toEqual([`get filesystem,volume ${s.dst}`]);

    await g.sh(`echo y > /${s.src}/data/a/y.txt && zfs snapshot ${s.src}/data/a@s2`);
    const one = await s.zferry(["pull", "p"]);
    expect(succeeded(one)).toContain("1 done, 2 up to date");
    // Its target held its mark (it still ends at s1): planned from the mark, its versions are not
    // listed; nor after the receive: the stream's first record showed the snapshot's GUID.
    expect(listings(one.stderr)).toEqual([`get filesystem,volume ${s.dst}`]);
    expect((await g.sh(`zfs list -H -o guid ${s.dst}/${s.src}/data/a@s2`)).trim()).toBe((await g.sh(`zfs list -H -o guid ${s.src}/data/a@s2`)).trim());
  });
});
