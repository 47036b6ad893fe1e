/**
 * Keeps the fake zfs (test/fake-zfs/) honest: the commands zferry runs, and the failures it reads,
 * go to the fake and to the real OpenZFS in the guest on the same scenario, and their output
 * formats, error texts and exit statuses must agree. Values that differ between any two pools
 * (GUIDs, txgs, times, sizes, token bytes) are masked; everything else is compared as printed.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { createFakeZfs, type FakeZfs } from "./fake-zfs/fixture.ts";
import { describeOpenZfs, type Guest, openzfs, OPENZFS_TEST_TIMEOUT_MS } from "./openzfs/guest.ts";
import { detectCapabilities } from "../src/zfs/index.ts";

setDefaultTimeout(OPENZFS_TEST_TIMEOUT_MS);

interface Answer {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

describeOpenZfs("the fake zfs answers as OpenZFS does", () => {
  let g: Guest;
  let fake: FakeZfs;
  const id = `parity${process.pid}`;
  const fs = `zsrc/${id}/a`;
  const other = `zsrc/${id}/b`;
  const missing = `zsrc/${id}/nope`;

  beforeAll(async () => {
    g = await openzfs();
    await g.sh(
      `zfs create -p ${fs} && zfs snapshot ${fs}@s1 && zfs bookmark ${fs}@s1 ${fs}#b1 && zfs snapshot ${fs}@s2 && zfs bookmark ${fs}@s2 ${fs}#b2 && ` +
        `zfs create ${other} && zfs snapshot ${other}@t1`,
    );
    fake = createFakeZfs({ datasets: [`${fs}@s1`, `${fs}#b1`, `${fs}@s2`, `${fs}#b2`, `${other}@t1`] });
  });
  afterAll(async () => {
    await g?.run(`zfs destroy -r zsrc/${id}`);
    fake?.[Symbol.dispose]();
  });

  /**
   * The same argv through the guest's zfs (the host-side wrapper) and through the fake; with
   * `streamOf`, each gets on stdin the stream its own `zfs send <streamOf…>` makes.
   */
  async function both(argv: string[], streamOf?: string[]): Promise<{ real: Answer; fake: Answer }> {
    const run = async (bin: string): Promise<Answer> => {
      const stdin = streamOf ? new Blob([Bun.spawnSync([bin, "send", ...streamOf]).stdout]) : "ignore";
      await using proc = Bun.spawn([bin, ...argv], { stdin, stdout: "pipe", stderr: "pipe" });
      const [stdout, stderr, exitCode] = await Promise.all([proc.stdout.text(), proc.stderr.text(), proc.exited]);
      return { exitCode, stdout: mask(stdout), stderr: mask(stderr) };
    };
    return { real: await run(g.state.zfsWrapper), fake: await run(fake.bin) };
  }

  test.each([
    ["versions of a filesystem", ["list", "-H", "-p", "-o", "name,guid,createtxg,creation", "-t", "snapshot,bookmark", "-d", "1", "-s", "createtxg", fs]],
    ["versions with their hold counts", ["list", "-H", "-p", "-o", "name,guid,createtxg,creation,userrefs", "-t", "snapshot,bookmark", "-d", "1", "-s", "createtxg", fs]],
    ["versions of several filesystems with their hold counts", ["list", "-H", "-p", "-o", "name,guid,createtxg,creation,userrefs", "-t", "snapshot,bookmark", "-d", "1", "-s", "createtxg", other, fs]],
    ["versions of several filesystems, one of them missing", ["list", "-H", "-p", "-o", "name,guid,createtxg,creation,userrefs", "-t", "snapshot,bookmark", "-d", "1", "-s", "createtxg", fs, missing, other]],
    ["filesystems below a root", ["list", "-H", "-o", "name", "-t", "filesystem,volume", "-r", `zsrc/${id}`]],
    ["everything below a root, in zfs's own order", ["list", "-H", "-o", "name", "-t", "all", "-r", `zsrc/${id}`]],
    ["a whole tree as zferry lists it", ["list", "-H", "-p", "-t", "filesystem,volume,snapshot,bookmark", "-o", "name,type,guid,createtxg,creation,referenced,written,snapshots_changed,receive_resume_token,encryption", "-r", `zsrc/${id}`]],
    [
      // As zferry lists them but mountpoint, whose source depends on how the pool was made.
      "datasets alone with their marks and confinement, as zferry lists them",
      [
        "get", "-H", "-p", "-r", "-t", "filesystem,volume", "-o", "name,property,value,source",
        "type,guid,createtxg,creation,snapshots_changed,receive_resume_token,sharenfs,sharesmb,setuid,devices,exec,readonly,zferry:placeholder",
        `zsrc/${id}`,
      ],
    ],
    ["placeholder marks of a tree", ["get", "-H", "-r", "-s", "local", "-o", "name,value", "zferry:placeholder", `zsrc/${id}`]],
    ["properties of a tree", ["get", "-H", "-r", "-o", "name,property,value,source", "readonly,receive_resume_token", `zsrc/${id}`]],
    ["one property", ["get", "-H", "-o", "property,value,source", "encryption,readonly", fs]],
    ["a missing dataset", ["list", "-H", "-o", "name", missing]],
    ["a full send estimate", ["send", "-n", "-P", `${fs}@s2`]],
    ["an incremental send estimate", ["send", "-n", "-P", "-i", `${fs}@s1`, `${fs}@s2`]],
    ["an estimate from a bookmark", ["send", "-n", "-P", "-i", `${fs}#b1`, `${fs}@s2`]],
    ["-I from a bookmark", ["send", "-n", "-P", "-I", `${fs}#b1`, `${fs}@s2`]],
    ["from a bookmark that is not earlier", ["send", "-n", "-P", "-i", `${fs}#b2`, `${fs}@s2`]],
    ["from a snapshot that is not earlier", ["send", "-n", "-P", "-i", `${fs}@s2`, `${fs}@s1`]],
    ["a send of a missing snapshot", ["send", "-n", "-P", `${fs}@nope`]],
    ["an abort without partial state", ["receive", "-A", fs]],
    ["a corrupt resume token", ["send", "-nvt", "1-1234abcd-a0-789c0000"]],
  ] as const)("%s", async (_what, argv) => {
    const { real, fake: faked } = await both([...argv]);
    expect(faked).toEqual(real);
  });

  test.each([
    ["a full stream onto an existing dataset", fs, [`${other}@t1`]],
    ["an incremental stream onto a missing dataset", missing, ["-i", `${fs}@s1`, `${fs}@s2`]],
  ] as const)("%s fails alike", async (_what, into, send) => {
    const { real, fake: faked } = await both(["receive", "-u", into], [...send]);
    expect(real.exitCode).not.toBe(0);
    expect(faked).toEqual(real);
  });

  test("holds and releases of several snapshots go on past one that fails, alike", async () => {
    // One already held, one missing: zfs holds the others and says one line for each failure.
    for (const argv of [
      ["hold", "t", `${fs}@s1`],
      ["hold", "t", `${fs}@s1`, `${fs}@nope`, `${fs}@s2`],
      ["get", "-H", "-p", "-o", "name,value", "userrefs", `${fs}@s1`, `${fs}@s2`],
      ["release", "t", `${fs}@s2`],
      ["release", "t", `${fs}@s1`, `${fs}@s2`, `${fs}@nope`],
      ["get", "-H", "-p", "-o", "name,value", "userrefs", `${fs}@s1`, `${fs}@s2`],
    ]) {
      const { real, fake: faked } = await both(argv);
      expect({ argv, ...faked }).toEqual({ argv, ...real });
    }
  });

  test("the usage text gives the same capabilities", async () => {
    const [real, faked] = await Promise.all([detectCapabilities(g.state.zfsWrapper), detectCapabilities(fake.bin)]);
    expect(faked).toEqual(real);
  });
});

/** Masks what differs between any two pools: GUIDs, txgs, times and sizes, token payloads. */
function mask(text: string): string {
  return text
    .replace(/\b1-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+\b/g, "TOKEN")
    .replace(/\t\d+(\.\d+)?[BKMGT]?(?=\t|\n|$)/g, "\tN");
}
