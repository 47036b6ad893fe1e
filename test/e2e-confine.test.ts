/**
 * A stream must not decide where it is mounted or what runs from it: both receiving sides
 * (the pull client's target, the stdinserver's receive_root) against hostile peers, end to end
 * through a real sshd with forced commands and zfs-fuse, which cannot keep properties out of a
 * receive (no `zfs receive -x -o -u`). zferry reads each stream's first record before anything
 * reaches `zfs receive` and refuses property streams the receiving side did not allow.
 *
 * The hostile source servers are zferry stdinservers whose `[zfs] bin` is a wrapper: one whose
 * `zfs send` always adds -p (a compromised server sends properties whatever the job asked for),
 * one whose `zfs send` writes bytes that are not a stream at all (which the server itself stops:
 * a client facing a server that lets such bytes through is tested in hostile-server.test.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, connectToml, tomlTable, zferry } from "./harness/cli.ts";
import { canRunSshd, startSshd, type Sshd } from "./harness/sshd.ts";
import { createTestPool, ensureZfsFuse, snapshot, writeFiles, zfsCli, type TestPool } from "./harness/pool.ts";

const TIMEOUT_MS = 90_000;

const fuse = await ensureZfsFuse();
const ready = fuse.ok && canRunSshd();
if (!ready) console.warn(`e2e confinement skipped: ${fuse.ok ? "needs root and /usr/sbin/sshd" : fuse.reason}`);

/** Every dataset of a pool with the properties a receive could change. */
function poolState(pool: string): Promise<string> {
  return zfsCli(["get", "-H", "-r", "-o", "name,property,value,source", "mountpoint,mounted,setuid,exec,readonly,zferry:placeholder", pool]);
}

/** How many filesystems are mounted at `path` right now. */
function mountsAt(path: string): number {
  return readFileSync("/proc/mounts", "utf8").split("\n").filter((line) => line.split(" ")[1] === path).length;
}

/** A `zfs` that rewrites `zfs send …` as `send`, and passes everything else on. */
function zfsWrapper(dir: string, name: string, send: string): string {
  const zfs = Bun.which("zfs") ?? "/usr/sbin/zfs";
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\nif [ "$1" = send ]; then shift; ${send}; fi\nexec ${zfs} "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

describe.skipIf(!ready)("received datasets are confined (zfs-fuse, over ssh)", () => {
  let dir: string;
  let src: TestPool;
  let dst: TestPool;
  let sshd: Sshd;
  let clientToml: string;
  const hostileDir = () => join(src.mountpoint, "m-hostile");

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "zferry-confine-"));
    src = await createTestPool("zfcon");
    dst = await createTestPool("zfcon");
    // What a hostile client (or source) would send: its own mountpoint, setuid and exec.
    await zfsCli(["create", "-o", `mountpoint=${hostileDir()}`, "-o", "setuid=on", "-o", "exec=on", `${src.name}/hostile`]);
    writeFiles(hostileDir(), { "run.sh": "#!/bin/sh\necho owned\n" });
    await snapshot(`${src.name}/hostile`, "h1");
    // An honest dataset with properties worth keeping (compression), mounted by legacy means.
    await zfsCli(["create", "-o", "mountpoint=legacy", "-o", "compression=on", "-o", "setuid=on", "-o", "exec=on", "-o", "devices=on", `${src.name}/honest`]);
    await snapshot(`${src.name}/honest`, "o1");
    await snapshot(src.name, "r1");
    for (const fs of ["back", "sink", "sink-trusted"]) await zfsCli(["create", `${dst.name}/${fs}`]);
    await zfsCli(["create", "-o", `mountpoint=${join(dst.mountpoint, "mounted")}`, `${dst.name}/sink-mounted`]);

    const zfsBin = Bun.which("zfs") ?? "/usr/sbin/zfs";
    const serverToml = (name: string, bin: string, clients: string) => {
      const path = join(dir, `${name}.toml`);
      writeFileSync(path, `[zfs]\nbin = ${JSON.stringify(bin)}\n[log]\nlevel = "warn"\n${clients}`);
      return path;
    };
    const all = tomlTable({ [`${src.name}<`]: true });
    const honest = serverToml(
      "server",
      zfsBin,
      // b1 is granted properties in send_flags, which is what the push attack asks for.
      `[clients.b1]\nfilesystems = ${all}\nreceive_root = ${JSON.stringify(`${dst.name}/sink`)}\nsend_flags = ["properties"]\n` +
        `[clients.t1]\nfilesystems = ${all}\nreceive_root = ${JSON.stringify(`${dst.name}/sink-trusted`)}\nsend_flags = ["properties"]\nreceive = { properties = true }\n` +
        `[clients.m1]\nfilesystems = ${all}\nreceive_root = ${JSON.stringify(`${dst.name}/sink-mounted`)}\n`,
    );
    const withProps = serverToml("hostile", zfsWrapper(dir, "zfs-send-p", `exec ${zfsBin} send -p "$@"`), `[clients.h1]\nfilesystems = ${all}\n`);
    const garbage = serverToml("garbage", zfsWrapper(dir, "zfs-send-garbage", `head -c 5000 /dev/zero | tr '\\0' 'x'; exit 0`), `[clients.g1]\nfilesystems = ${all}\n`);
    const cli = `${process.execPath} ${CLI}`;
    sshd = await startSshd([
      { command: `env ZFERRY_CONFIG=${honest} ${cli} stdinserver b1` },
      { command: `env ZFERRY_CONFIG=${withProps} ${cli} stdinserver h1` },
      { command: `env ZFERRY_CONFIG=${garbage} ${cli} stdinserver g1` },
      { command: `env ZFERRY_CONFIG=${honest} ${cli} stdinserver t1` },
      { command: `env ZFERRY_CONFIG=${honest} ${cli} stdinserver m1` },
    ]);
    clientToml = join(dir, "client.toml");
    const job = (name: string, key: number, body: Record<string, string>) =>
      [`[jobs.${name}]`, `connect = ${connectToml(sshd.sshConnect(key))}`, ...Object.entries(body).map(([k, v]) => `${k} = ${v}`), ""].join("\n");
    const pull = (key: number) => ({ type: '"pull"', root: JSON.stringify(`${dst.name}/back`), filesystems: tomlTable({ [`${src.name}/hostile`]: true }) });
    const push = (rel: string) => ({ type: '"push"', filesystems: tomlTable({ [`${src.name}/${rel}`]: true }), send: "{ properties = true }" });
    writeFileSync(
      clientToml,
      [
        job("push-attack", 0, push("hostile")),
        job("pull-hostile", 1, pull(1)),
        job("pull-garbage", 2, pull(2)),
        job("push-trusted", 3, push("honest")),
        job("push-mounted", 4, { type: '"push"', filesystems: tomlTable({ [src.name]: true }) }),
      ].join("\n"),
    );
  }, 120_000);

  afterAll(async () => {
    await sshd?.[Symbol.asyncDispose]();
    await src?.[Symbol.asyncDispose]();
    await dst?.[Symbol.asyncDispose]();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test(
    "a push of a property stream is refused by the server from its first record: nothing mounted, nothing new on disk",
    async () => {
      const before = await poolState(dst.name);
      const mounted = mountsAt(hostileDir());
      const run = await zferry(["push", "push-attack", "--config", clientToml]);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain(`receive "${dst.name}/sink/${src.name}/hostile@h1": refused the stream: it carries properties (a compound stream, as zfs send -p and -R write`);
      expect(run.stderr).toContain("set receive = { properties = true } in [clients.b1] of the server's config");
      expect(await poolState(dst.name)).toBe(before); // not even the placeholder for its parent
      expect(mountsAt(hostileDir())).toBe(mounted);
    },
    TIMEOUT_MS,
  );

  test(
    "a pull from a source whose zfs send adds -p is refused before zfs receive starts; its placeholder is removed",
    async () => {
      const before = await poolState(dst.name);
      const mounted = mountsAt(hostileDir());
      const run = await zferry(["pull", "pull-hostile", "--config", clientToml]);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain(`receive "${dst.name}/back/${src.name}/hostile@h1": refused the stream: it carries properties (a compound stream, as zfs send -p and -R write`);
      expect(run.stderr).toContain("set receive = { properties = true } in [jobs.pull-hostile]");
      expect(await poolState(dst.name)).toBe(before);
      expect(mountsAt(hostileDir())).toBe(mounted);
    },
    TIMEOUT_MS,
  );

  test(
    "a zfs send that writes something else than a stream is stopped by the server before a byte of it leaves",
    async () => {
      const before = await poolState(dst.name);
      const run = await zferry(["pull", "pull-garbage", "--config", clientToml]);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain(`${src.name}/hostile: send "${src.name}/hostile@h1": Not a zfs send stream: bad magic 0x7878787878787878 in the first record [request `);
      expect(await poolState(dst.name)).toBe(before);
    },
    TIMEOUT_MS,
  );

  test(
    "an allowed property push lands confined: mountpoint inherited, setuid, exec and devices off, readonly on, not mounted",
    async () => {
      const run = await zferry(["push", "push-trusted", "--config", clientToml]);
      expect(run.stderr).toBe("");
      expect(run.exitCode).toBe(0);
      const target = `${dst.name}/sink-trusted/${src.name}/honest`;
      const props = await zfsCli(["get", "-H", "-o", "property,value,source", "mountpoint,mounted,setuid,exec,devices,readonly,compression", target]);
      expect(props.split("\n").filter(Boolean)).toEqual([
        `mountpoint\tnone\tinherited from ${dst.name}/sink-trusted/${src.name}`,
        "mounted\tno\t-",
        "setuid\toff\tlocal",
        "exec\toff\tlocal",
        "devices\toff\tlocal",
        "readonly\ton\tlocal",
        "compression\ton\treceived", // not a confined property: the stream keeps it
      ]);
    },
    TIMEOUT_MS,
  );

  test(
    "a push whose new target would inherit a mountpoint is refused on a zfs that cannot receive unmounted",
    async () => {
      const before = await poolState(dst.name);
      const run = await zferry(["push", "push-mounted", "--config", clientToml]);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain(
        `Cannot receive into "${dst.name}/sink-mounted/${src.name}": the server's zfs cannot receive without mounting (no "zfs receive -u") and "${dst.name}/sink-mounted" passes down mountpoint "${join(dst.mountpoint, "mounted")}"; set mountpoint=none on it`,
      );
      expect(await poolState(dst.name)).toBe(before);
    },
    TIMEOUT_MS,
  );
});
