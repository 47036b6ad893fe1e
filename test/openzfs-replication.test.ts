/**
 * Pull and push of a nested tree on real OpenZFS (the test guest), through the guest's sshd with
 * `zferry stdinserver` as the forced command: once with `bun src/cli.ts`, once with the compiled
 * binary. What OpenZFS does that zfs-fuse cannot: `zfs list -p`, `receive -u -o readonly=on`,
 * `send -nP` estimates with an ETA on the progress line.
 *
 * The tests of one server kind build on each other in file order (initial, incremental, no-op, push).
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { describeOpenZfs, type Guest, openzfs, OPENZFS_TEST_TIMEOUT_MS } from "./openzfs/guest.ts";
import { createScenario, succeeded, type Scenario, type ZferryKind } from "./openzfs/scenario.ts";

setDefaultTimeout(OPENZFS_TEST_TIMEOUT_MS);

const SERVERS: ZferryKind[] = ["bun", "compiled"];
const TREE = ["data", "data/sub", "data/sub/deep"];

for (const server of SERVERS) {
  describeOpenZfs(`pull and push over ssh, forced command: ${server}`, () => {
    let g: Guest;
    let s: Scenario;
    const pulled = (rel: string) => `${s.dst}/${s.src}/${rel}`;

    beforeAll(async () => {
      g = await openzfs();
      s = await createScenario(g, `repl-${server}`, { program: server });
      await s.configure({
        server: [
          `[clients.backup1]`,
          `filesystems = { "${s.src}/data<" = true, "${s.src}/data/secret<" = false, "${s.src}/push<" = true }`,
          `receive_root = "${s.dst}/sink"`,
        ].join("\n"),
        client: [
          s.job("p", "pull", { root: `"${s.dst}"`, filesystems: `{ "${s.src}/data<" = true }` }),
          s.job("up", "push", { filesystems: `{ "${s.src}/push<" = true }` }),
        ].join("\n"),
      });
      await g.sh(
        [
          ...[...TREE, "data/secret", "push", "push/sub"].map((rel) => `zfs create ${s.src}/${rel}`),
          `zfs create -o mountpoint=none ${s.dst}/sink`,
          // The pulled tree's parent exists and has a mountpoint, which the received datasets
          // inherit: only \`receive -u\` keeps them from being mounted.
          `zfs create -p -o mountpoint=/${s.dst}-mnt ${s.dst}/${s.src}`,
          `head -c 3000000 /dev/urandom > /${s.src}/data/a.bin`,
          `echo deep > /${s.src}/data/sub/deep/d.txt`,
          `echo secret > /${s.src}/data/secret/s.txt`,
          `echo pushed > /${s.src}/push/p.txt && echo sub > /${s.src}/push/sub/q.txt`,
          `zfs snapshot -r ${s.src}@s1`,
        ].join(" && "),
      );
    });
    afterAll(() => s?.[Symbol.asyncDispose]());

    test("initial pull: the tree arrives by GUID, unmounted and readonly from the receive itself; the denied child stays out", async () => {
      const run = await s.zferry(["pull", "p"]);
      expect(succeeded(run)).toContain("3 done");
      for (const rel of TREE) expect(await guid(`${pulled(rel)}@s1`)).toBe(await guid(`${s.src}/${rel}@s1`));
      // -o readonly=on makes it a local value set by the receive; -u leaves it unmounted, though it
      // inherits a mountpoint.
      const props = await g.sh(`zfs get -H -o property,value,source readonly,mounted,mountpoint ${pulled("data")}`);
      expect(props).toBe(`readonly\ton\tlocal\nmounted\tno\t-\nmountpoint\t/${s.dst}-mnt/data\tinherited from ${s.dst}/${s.src}\n`);
      const names = await g.sh(`zfs list -H -o name -r ${s.dst}`);
      expect(names).not.toContain("secret");
    });

    test("incremental pull with the send estimate on the progress line, then a no-op; other tools' holds stay", async () => {
      // Another tool's holds on the base, on both sides, neither block the increment nor go.
      await g.sh(`zfs hold othertool ${s.src}/data@s1 && zfs hold othertool ${pulled("data")}@s1`);
      await g.sh(`head -c 2000000 /dev/urandom > /${s.src}/data/b.bin && zfs snapshot -r ${s.src}@s2`);
      const run = await s.zferry(["pull", "p"], { tty: true });
      succeeded(run);
      // The listing's `written` gave the size, so the job's line shows "x / y (n%)", an ETA and
      // the transfer in flight.
      // (The names in flight are cut to the terminal's 80 columns.)
      expect(run.stdout).toMatch(new RegExp(`\\d/3 filesystems +[^\\r]* / [^\\r]*\\(\\d+%\\)[^\\r]*ETA[^\\r]*\\| ${s.src.slice(0, 8)}`));
      for (const rel of TREE) expect(await guid(`${pulled(rel)}@s2`)).toBe(await guid(`${s.src}/${rel}@s2`));
      const again = await s.zferry(["pull", "p"]);
      expect(succeeded(again)).toContain("0 done, 3 up to date");
      for (const snap of [`${s.src}/data@s1`, `${pulled("data")}@s1`]) {
        expect(await g.sh(`zfs holds -H ${snap} | cut -f1,2`)).toBe(`${snap}\tothertool\n`);
      }
      await g.sh(`zfs release othertool ${s.src}/data@s1 ${pulled("data")}@s1`);
    });

    test("the pulled files are the source's", async () => {
      const sums = async (root: string) =>
        g.sh(`cd ${root} && find . -xdev -type f -print0 | sort -z | xargs -0 sha256sum`);
      const clone = `${s.dst}/check`;
      await g.sh(`zfs clone -o mountpoint=/${clone} ${pulled("data")}@s2 ${clone}`);
      expect(await sums(`/${clone}`)).toBe(await sums(`/${s.src}/data`));
    });

    test("several new snapshots arrive in one -I stream per filesystem, confined by the receive", async () => {
      await g.sh(`echo three >> /${s.src}/data/sub/c.txt && zfs snapshot -r ${s.src}/data@s3 && zfs snapshot -r ${s.src}/data@s4`);
      const run = await s.zferry(["pull", "p"]);
      expect(succeeded(run)).toMatch(/data\/sub +s2 → s4 \(2 snapshots\)/);
      for (const rel of TREE) for (const snap of ["s3", "s4"]) expect(await guid(`${pulled(rel)}@${snap}`)).toBe(await guid(`${s.src}/${rel}@${snap}`));
      expect(await g.sh(`zfs get -H -o value,source readonly ${pulled("data/sub")}`)).toBe("on\tlocal\n");
      expect(await g.sh(`zfs get -H -o value mounted ${pulled("data/sub")}`)).toBe("no\n");
    });

    test("push of a nested tree: initial, then incremental, into receive_root", async () => {
      const sink = (rel: string) => `${s.dst}/sink/${s.src}/${rel}`;
      // The recursive snapshots above gave push@s1 and @s2; initial = "most_recent" sends s2 in full.
      expect(succeeded(await s.zferry(["push", "up"]))).toContain("2 done");
      for (const rel of ["push", "push/sub"]) expect(await guid(`${sink(rel)}@s2`)).toBe(await guid(`${s.src}/${rel}@s2`));
      await g.sh(`echo more >> /${s.src}/push/sub/q.txt && zfs snapshot -r ${s.src}/push@s3`);
      expect(succeeded(await s.zferry(["push", "up"]))).toContain("2 done");
      for (const rel of ["push", "push/sub"]) expect(await guid(`${sink(rel)}@s3`)).toBe(await guid(`${s.src}/${rel}@s3`));
      expect(await g.sh(`zfs get -H -o value readonly,mounted ${sink("push/sub")}`)).toBe("on\nno\n");
    });
  });
}

async function guid(snapshot: string): Promise<string> {
  const g = await openzfs();
  return (await g.sh(`zfs get -H -p -o value guid ${snapshot}`)).trim();
}
