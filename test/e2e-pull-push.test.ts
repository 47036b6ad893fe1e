/**
 * `zferry pull` / `zferry push` end to end: the CLI as a subprocess, a real sshd whose forced
 * command is `zferry stdinserver ID`, and the real zfs on this machine (zfs-fuse, pool v23) with two
 * throwaway pools. The suite runs twice: with `bun src/cli.ts` as the forced command, and with the
 * compiled `zferry` binary, built once per run.
 *
 * The tests of one run build on each other (initial pull, then incremental, then diverged …), in
 * file order, as an operator would run the commands.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, REPO, connectToml, tomlTable, zferry, type CliRun } from "./harness/cli.ts";
import { canRunSshd, startSshd, type Sshd, type SshConnectTable } from "./harness/sshd.ts";
import { createTestPool, ensureZfsFuse, mountAt, readFiles, snapshot, writeFiles, zfsCli, type TestPool } from "./harness/pool.ts";

const TIMEOUT_MS = 90_000;

const fuse = await ensureZfsFuse();
const ready = fuse.ok && canRunSshd();
if (!ready) console.warn(`e2e pull/push skipped: ${fuse.ok ? "needs root and /usr/sbin/sshd" : fuse.reason}`);

/** Snapshot name → GUID of one dataset. */
async function guids(dataset: string): Promise<Record<string, string>> {
  const names = (await zfsCli(["list", "-H", "-o", "name", "-t", "snapshot", "-r", "-d", "1", dataset])).split("\n").filter(Boolean);
  const out: Record<string, string> = {};
  for (const name of names) out[name.slice(name.indexOf("@") + 1)] = (await zfsCli(["get", "-H", "-p", "-o", "value", "guid", name])).trim();
  return out;
}

/** Everything in a pool, with the properties a pull or push could change. */
async function poolState(pool: string): Promise<string> {
  return zfsCli(["get", "-H", "-r", "-o", "name,property,value", "mountpoint,readonly,zferry:placeholder,guid", pool]);
}

async function exists(dataset: string): Promise<boolean> {
  return (await zfsCli(["list", "-H", "-o", "name", "-r", dataset.split("/")[0]!])).split("\n").includes(dataset);
}

let clones = 0;
/**
 * The files of a received snapshot, read from a temporary clone: mounting the received dataset
 * itself would also try to mount its children inside it, which readonly=on forbids.
 */
async function filesOf(pool: TestPool, snapshotName: string): Promise<Record<string, string>> {
  const clone = `${pool.name}/check-${++clones}`;
  const dir = join(pool.mountpoint, `check-${clones}`);
  await zfsCli(["clone", "-o", `mountpoint=${dir}`, snapshotName, clone]);
  try {
    return readFiles(dir);
  } finally {
    // zfs-fuse says "dataset is busy" for a while after the last file was closed.
    await waitFor(`destroy ${clone}`, () => zfsCli(["destroy", "-f", clone]).then(() => true, () => false), { pollMs: 50, timeoutMs: 10_000 });
  }
}

/** `zfs send`/`zfs receive` processes whose command line mentions one of `names`, as "pid argv…". */
function zfsChildrenOf(names: string[]): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    const argv = cmdlineOf(Number(pid));
    if (!/(^|\/)zfs$/.test(argv[0] ?? "") || !["send", "receive", "recv"].includes(argv[1] ?? "")) continue;
    if (argv.some((a) => names.some((n) => a.includes(n)))) found.push(`${pid} ${argv.join(" ").trim()}`);
  }
  return found;
}

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false | 0>, options: { timeoutMs?: number; pollMs?: number } = {}): Promise<T> {
  const { timeoutMs = 20_000, pollMs = 10 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await Bun.sleep(pollMs); // polling the process table: there is no event to wait on
  }
}

function cmdlineOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return []; // exited meanwhile
  }
}

/** Direct children of `parent`, from the ppid field of /proc/PID/stat. */
function childrenOf(parent: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === parent) children.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return children;
}

function ioOf(pid: number): { rchar: number; wchar: number } {
  const io = readFileSync(`/proc/${pid}/io`, "utf8");
  return { rchar: Number(/^rchar: (\d+)$/m.exec(io)?.[1]), wchar: Number(/^wchar: (\d+)$/m.exec(io)?.[1]) };
}

const SERVERS: { name: string; argv: (dir: string) => Promise<string> }[] = [
  { name: "bun src/cli.ts", argv: async () => `${process.execPath} ${CLI}` },
  {
    name: "compiled dist/zferry",
    async argv(dir) {
      const outfile = join(dir, "zferry");
      // Exactly what `npm run build` runs, into this test's directory.
      const script: string = (await Bun.file(join(REPO, "package.json")).json()).scripts.build;
      const [bun, ...args] = script.split(" ").map((a) => (a === "dist/zferry" ? outfile : a));
      if (bun !== "bun" || !args.includes(outfile)) throw new Error(`unexpected build script: ${script}`);
      const build = Bun.spawn([process.execPath, ...args], {
        cwd: REPO,
        stdout: "pipe",
        stderr: "pipe",
      });
      const [stderr, code] = await Promise.all([build.stderr.text(), build.exited]);
      if (code !== 0) throw new Error(`bun build --compile failed: ${stderr}`);
      return outfile;
    },
  },
];

for (const server of SERVERS) {
  describe.skipIf(!ready)(`pull and push over ssh, forced command: ${server.name}`, () => {
    let dir: string;
    let src: TestPool;
    let dst: TestPool;
    let sshd: Sshd;
    let clientToml: string;
    const ds = (rel: string) => `${src.name}/${rel}`;
    const pulled = (rel: string) => `${dst.name}/back/${src.name}/${rel}`;
    const pulledTree = ["data", "data/sub", "data/sub/deep"];
    const srcDir = (rel: string) => join(src.mountpoint, `m-${rel.replaceAll("/", "-")}`);

    async function createSource(rel: string): Promise<void> {
      await zfsCli(["create", "-o", `mountpoint=${srcDir(rel)}`, ds(rel)]);
    }

    async function snapshotTree(name: string): Promise<void> {
      for (const rel of pulledTree) await snapshot(ds(rel), name);
    }

    async function expectPulledTreeEqualsSource(): Promise<void> {
      for (const rel of pulledTree) {
        expect({ rel, guids: await guids(pulled(rel)) }).toEqual({ rel, guids: await guids(ds(rel)) });
        const newest = Object.keys(await guids(pulled(rel))).at(-1)!;
        expect({ rel, files: await filesOf(dst, `${pulled(rel)}@${newest}`) }).toEqual({ rel, files: readFiles(srcDir(rel)) });
      }
    }

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "zferry-e2e-"));
      const serverCommand = await server.argv(dir);
      src = await createTestPool("zfe2e");
      dst = await createTestPool("zfe2e");
      for (const rel of pulledTree) await createSource(rel);
      writeFiles(srcDir("data"), { "a.txt": "alpha\n", "dir/b.txt": "beta\n" });
      writeFiles(srcDir("data/sub"), { "c.bin": "c".repeat(200_000) });
      writeFiles(srcDir("data/sub/deep"), { "d with space.txt": "delta\n" });
      await snapshotTree("s1");
      writeFiles(srcDir("data"), { "a.txt": "alpha two\n" });
      writeFiles(srcDir("data/sub/deep"), { "e.txt": "echo\n" });
      await snapshotTree("s2");
      await createSource("push");
      writeFiles(srcDir("push"), { "p.txt": "pushed\n" });
      await snapshot(ds("push"), "p1");
      await createSource("big");
      writeFileSync(join(srcDir("big"), "random.bin"), randomBytes(64 << 20));
      await snapshot(ds("big"), "b1");
      await zfsCli(["create", `${dst.name}/back`]);
      await zfsCli(["create", `${dst.name}/sink`]);
      await zfsCli(["create", "-o", "mountpoint=none", `${dst.name}/back2`]);

      const zfsBin = Bun.which("zfs") ?? "/usr/sbin/zfs"; // sshd's PATH has no /usr/sbin
      const serverToml = join(dir, "server.toml");
      writeFileSync(
        serverToml,
        [
          `[zfs]\nbin = ${JSON.stringify(zfsBin)}\n`,
          `[log]\nlevel = "warn"\n`,
          `[clients.b1]\nfilesystems = ${tomlTable({ [`${src.name}/data<`]: true, [`${src.name}/big`]: true })}\nreceive_root = ${JSON.stringify(`${dst.name}/sink`)}\n`,
          `[clients.b2]\nfilesystems = ${tomlTable({ [`${src.name}/data<`]: true })}\n`,
          `[clients.b3]\nfilesystems = {}\nreceive_root = ${JSON.stringify(`${dst.name}/sink`)}\n`,
          `[locks]\ndir = ${JSON.stringify(join(dir, "server-locks"))}\n`,
        ].join("\n"),
      );
      sshd = await startSshd([
        { command: `env ZFERRY_CONFIG=${serverToml} ${serverCommand} stdinserver b1` },
        { command: `env ZFERRY_CONFIG=${serverToml} ${serverCommand} stdinserver b2` },
        { command: `env ZFERRY_CONFIG=${serverToml} ${serverCommand} stdinserver b3` },
      ]);
      clientToml = join(dir, "client.toml");
      const job = (name: string, key: number, body: Record<string, string>) =>
        [`[jobs.${name}]`, `connect = ${connectToml(sshd.sshConnect(key))}`, ...Object.entries(body).map(([k, v]) => `${k} = ${v}`), ""].join("\n");
      writeFileSync(
        clientToml,
        [
          job("tree", 0, { type: '"pull"', root: JSON.stringify(`${dst.name}/back`), filesystems: tomlTable({ [`${src.name}/data<`]: true }), initial: '"all"' }),
          job("big", 0, { type: '"pull"', root: JSON.stringify(`${dst.name}/back`), filesystems: tomlTable({ [`${src.name}/big`]: true }) }),
          job("push", 0, { type: '"push"', filesystems: tomlTable({ [`${src.name}/push`]: true }) }),
          job("push-denied", 1, { type: '"push"', filesystems: tomlTable({ [`${src.name}/push`]: true }) }),
          job("big2", 0, { type: '"pull"', root: JSON.stringify(`${dst.name}/back2`), filesystems: tomlTable({ [`${src.name}/big`]: true }) }),
          job("big2-inner", 0, { type: '"pull"', root: JSON.stringify(`${dst.name}/back2/${src.name}`), filesystems: tomlTable({ [`${src.name}/big`]: true }) }),
          job("push-big", 0, { type: '"push"', filesystems: tomlTable({ [`${src.name}/big`]: true }) }),
          job("push-big-b3", 2, { type: '"push"', filesystems: tomlTable({ [`${src.name}/big`]: true }) }),
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
      "--dry-run prints the plan and changes nothing",
      async () => {
        const before = await poolState(dst.name);
        const run = await zferry(["pull", "tree", "--config", clientToml, "--dry-run"]);
        expect(run).toMatchObject({ exitCode: 0, stderr: "" });
        expect(run.stdout.split("\n")).toEqual([
          `pull tree: 3 filesystems from ssh root@127.0.0.1:${sshd.port} into ${dst.name}/back (dry run)`,
          expect.stringMatching(/^FILESYSTEM +FROM → TO +SIZE$/),
          expect.stringMatching(new RegExp(`^${ds("data")} +\\(full\\) → s2 \\(2 snapshots\\)  \\?$`)),
          expect.stringMatching(new RegExp(`^${ds("data/sub")} +\\(full\\) → s2 \\(2 snapshots\\)  \\?$`)),
          expect.stringMatching(new RegExp(`^${ds("data/sub/deep")} +\\(full\\) → s2 \\(2 snapshots\\)  \\?$`)),
          "pull tree (dry run): 3 filesystems: 3 to replicate, 0 up to date, 0 skipped, 0 refused; nothing was changed",
          "",
        ]);
        expect(await poolState(dst.name)).toBe(before);
      },
      TIMEOUT_MS,
    );

    test(
      "the initial pull brings a nested tree with all its snapshots, under an unmounted placeholder",
      async () => {
        const run = await zferry(["pull", "tree", "--config", clientToml]);
        expect(run.stderr).toBe("");
        expect(run.exitCode).toBe(0);
        expect(run.stdout).toContain("pull tree: 3 filesystems: 3 done, 0 up to date, 0 skipped, 0 failed;");
        await expectPulledTreeEqualsSource();
        const props = (ds: string) => zfsCli(["get", "-H", "-o", "value,source", "mounted,readonly,zferry:placeholder", ds]);
        expect(await props(`${dst.name}/back/${src.name}`)).toBe("no\t-\noff\tdefault\non\tlocal\n");
        expect(await props(pulled("data"))).toBe("no\t-\non\tlocal\non\tinherited from " + `${dst.name}/back/${src.name}\n`);
      },
      TIMEOUT_MS,
    );

    test(
      "an incremental pull brings the new snapshot, and the next run is up to date",
      async () => {
        writeFiles(srcDir("data/sub"), { "c.bin": "C".repeat(300_000), "new.txt": "new\n" });
        writeFiles(srcDir("data"), { "dir/b.txt": "beta two\n" });
        await snapshotTree("s3");
        const run = await zferry(["pull", "tree", "--config", clientToml]);
        expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({ exitCode: 0, stderr: "" });
        expect(run.stdout).toMatch(new RegExp(`${ds("data/sub")} +s2 → s3 +\\?\n`));
        expect(run.stdout).toMatch(new RegExp(`^done  ${ds("data/sub")}  1 snapshot, `, "m"));
        await expectPulledTreeEqualsSource();

        const again = await zferry(["pull", "tree", "--config", clientToml]);
        expect(again.exitCode).toBe(0);
        expect(again.stdout).toContain("pull tree: 3 filesystems: 0 done, 3 up to date, 0 skipped, 0 failed; 0 B in");
      },
      TIMEOUT_MS,
    );

    test(
      "a diverged target is refused and left untouched; the other filesystems continue",
      async () => {
        await snapshot(pulled("data/sub"), "local");
        await snapshotTree("s4");
        const before = await guids(pulled("data/sub"));
        const run = await zferry(["pull", "tree", "--config", clientToml]);
        expect(run.exitCode).toBe(1);
        expect(run.stderr).toBe(
          `zferry: pull tree: ${ds("data/sub")}: diverged: the target has snapshots newer than the newest common one "s3": "local"\n` +
            "zferry: pull tree: 1 filesystem failed\n",
        );
        expect(run.stdout).toContain("pull tree: 3 filesystems: 2 done, 0 up to date, 0 skipped, 1 failed;");
        expect(await guids(pulled("data/sub"))).toEqual(before);
        expect(Object.keys(await guids(pulled("data")))).toEqual(["s1", "s2", "s3", "s4"]);
        expect(Object.keys(await guids(pulled("data/sub/deep")))).toEqual(["s1", "s2", "s3", "s4"]);
      },
      TIMEOUT_MS,
    );

    test(
      "push lands in the server's receive_root, initial and then incremental",
      async () => {
        const target = `${dst.name}/sink/${src.name}/push`;
        const first = await zferry(["push", "push", "--config", clientToml]);
        expect({ exitCode: first.exitCode, stderr: first.stderr }).toEqual({ exitCode: 0, stderr: "" });
        expect(first.stdout).toContain(`push push: 1 filesystem to ssh root@127.0.0.1:${sshd.port} into ${dst.name}/sink`);
        expect(await guids(target)).toEqual(await guids(ds("push")));

        writeFiles(srcDir("push"), { "p.txt": "pushed again\n", "q.txt": "q\n" });
        await snapshot(ds("push"), "p2");
        const second = await zferry(["push", "push", "--config", clientToml]);
        expect(second.exitCode).toBe(0);
        expect(second.stdout).toMatch(new RegExp(`${ds("push")} +p1 → p2`));
        expect(await guids(target)).toEqual(await guids(ds("push")));
        expect(await filesOf(dst, `${target}@p2`)).toEqual(readFiles(srcDir("push")));
      },
      TIMEOUT_MS,
    );

    test(
      "push by an identity without a receive_root is refused and creates nothing",
      async () => {
        const before = await poolState(dst.name);
        const run = await zferry(["push", "push-denied", "--config", clientToml]);
        expect(run).toEqual({
          exitCode: 1,
          stdout: "",
          stderr: `zferry: push push-denied: The server has no receive_root for identity "b2": set receive_root in [clients.b2] of the server's config\n`,
        });
        expect(await poolState(dst.name)).toBe(before);
      },
      TIMEOUT_MS,
    );

    test(
      "a pull killed mid-stream leaves no partial dataset and no zfs child; the re-run succeeds",
      async () => {
        const target = pulled("big");
        const pools = [src.name, dst.name];
        const proc = Bun.spawn([process.execPath, CLI, "pull", "big", "--config", clientToml], { stdout: "ignore", stderr: "pipe", env: process.env });
        // zfs-fuse's `zfs receive` hands its stdin to the daemon, so its own counters stay still;
        // the bytes are counted where they enter the client instead: ssh's writes to its stdout.
        const ssh = await waitFor("the client's ssh", async () => childrenOf(proc.pid).find((pid) => cmdlineOf(pid)[0] === "ssh"), { pollMs: 1 });
        await waitFor("1 MiB through ssh", async () => ioOf(ssh).wchar > 1 << 20, { pollMs: 1 });
        // zfs-fuse's receive starts once the stream's first record has passed the client's check.
        await waitFor("our zfs receive", async () => zfsChildrenOf([target]).length > 0, { pollMs: 1 });
        process.kill(proc.pid, "SIGSTOP"); // freeze the relay, so the stream stops right here
        expect(zfsChildrenOf([target])).toHaveLength(1); // mid-stream: our zfs receive is running
        proc.kill("SIGKILL");
        expect(await proc.exited).toBe(128 + 9);
        await waitFor("every zfs send/receive of the test pools to exit", async () => zfsChildrenOf(pools).length === 0);
        expect(await exists(target)).toBe(false);

        const run = await zferry(["pull", "big", "--config", clientToml]);
        expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({ exitCode: 0, stderr: "" });
        expect(await guids(target)).toEqual(await guids(ds("big")));
        const hash = (path: string) => new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");
        const mounted = await mountAt(dst, target, "big-check");
        try {
          expect(hash(join(mounted, "random.bin"))).toBe(hash(join(srcDir("big"), "random.bin")));
        } finally {
          await zfsCli(["inherit", "mountpoint", target]);
        }
      },
      TIMEOUT_MS,
    );

    test(
      "a second run while the first receives exits 75 naming it, as does a job whose root is inside; nothing changes",
      async () => {
        const target = `${dst.name}/back2/${src.name}/big`;
        // env: Bun.spawn's default is the environment the test process started with, not
        // process.env, and so not the preload's ZFERRY_LOCK_DIR that zferry() passes on.
        const first = Bun.spawn([process.execPath, CLI, "pull", "big2", "--config", clientToml], { stdout: "ignore", stderr: "pipe", env: process.env });
        try {
          await frozenMidStream(first, "wchar");
          const before = await poolState(dst.name);
          const again = await zferry(["pull", "big2", "--config", clientToml]);
          const inner = await zferry(["pull", "big2-inner", "--config", clientToml]);
          const held = `pid ${first.pid} \\([^\\n]*pull big2 --config [^\\n]*\\), started \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC`;
          expect(again).toMatchObject({ exitCode: 75, stdout: "" });
          expect(again.stderr).toMatch(new RegExp(`^zferry: pull big2: not started: job "big2" is already running: ${held}\n$`));
          expect(inner).toMatchObject({ exitCode: 75, stdout: "" });
          expect(inner.stderr).toMatch(new RegExp(`^zferry: pull big2-inner: not started: the job's root "${dst.name}/back2/${src.name}" is inside "${dst.name}/back2", which is being written by ${held} \\(lock .*\\)\n$`));
          expect(await poolState(dst.name)).toBe(before);
        } finally {
          process.kill(first.pid, "SIGCONT");
        }
        expect({ exitCode: await first.exited, stderr: await first.stderr.text() }).toEqual({ exitCode: 0, stderr: "" });
        expect(await guids(target)).toEqual(await guids(ds("big")));
      },
      TIMEOUT_MS,
    );

    test(
      "a push from another identity into the dataset a push is receiving into is refused with busy, and changes nothing",
      async () => {
        const target = `${dst.name}/sink/${src.name}/big`;
        const first = Bun.spawn([process.execPath, CLI, "push", "push-big", "--config", clientToml], { stdout: "ignore", stderr: "pipe", env: process.env });
        try {
          await frozenMidStream(first, "rchar");
          // zfs-fuse shows it, empty, while it is received; `zfs receive` starts once the stream's
          // first record has passed the server's check, a moment after the client's first bytes.
          await waitFor(`${target} to appear`, () => exists(target), { pollMs: 50, timeoutMs: 20_000 });
          const before = await poolState(dst.name);
          const other = await zferry(["push", "push-big-b3", "--config", clientToml]);
          expect(other.exitCode).toBe(1);
          expect(other.stderr).toMatch(
            new RegExp(
              `^zferry: push push-big-b3: ${ds("big")}: Cannot receive into "${target}": it, or a dataset below it, is being written by pid \\d+, started [0-9: -]+ UTC; ` +
                "nothing was changed, try again when that is done \\[request [0-9a-f]{12}\\]\nzferry: push push-big-b3: 1 filesystem failed\n$",
            ),
          );
          expect(await poolState(dst.name)).toBe(before);
        } finally {
          process.kill(first.pid, "SIGCONT");
        }
        expect({ exitCode: await first.exited, stderr: await first.stderr.text() }).toEqual({ exitCode: 0, stderr: "" });
        expect(await guids(target)).toEqual(await guids(ds("big")));
      },
      TIMEOUT_MS,
    );

    /** Waits until 4 MiB went through the run's ssh (`wchar`: pulled; `rchar`: pushed), then stops the run there. */
    async function frozenMidStream(proc: Bun.Subprocess, counter: "wchar" | "rchar"): Promise<void> {
      const ssh = await waitFor("the client's ssh", async () => childrenOf(proc.pid).find((pid) => cmdlineOf(pid)[0] === "ssh"), { pollMs: 1 });
      await waitFor("4 MiB through ssh", async () => ioOf(ssh)[counter] > 4 << 20, { pollMs: 1 });
      process.kill(proc.pid, "SIGSTOP"); // the stream stops here; the run keeps its locks
    }
  });
}

describe.skipIf(!ready)("connection failures are one line that says what to fix", () => {
  let dir: string;
  let pool: TestPool;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "zferry-e2e-conn-"));
    pool = await createTestPool("zfe2e");
  }, 60_000);
  afterAll(async () => {
    await pool?.[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  async function pullWith(connect: SshConnectTable, root = pool.name): Promise<CliRun> {
    const file = join(dir, `c${Math.random().toString(36).slice(2)}.toml`);
    writeFileSync(file, `[jobs.j]\ntype = "pull"\nroot = ${JSON.stringify(root)}\nconnect = ${connectToml(connect)}\n`);
    return zferry(["pull", "j", "--config", file]);
  }

  test(
    "a forced command that prints a banner",
    async () => {
      await using sshd = await startSshd([{ command: "echo Welcome to prod; cat" }]);
      const run = await pullWith(sshd.sshConnect());
      expect(run.exitCode).toBe(1);
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
      expect(run.stderr).toStartWith(`zferry: pull j: Cannot connect to ssh root@127.0.0.1:${sshd.port}: `);
      expect(run.stderr).toContain("Welcome to prod");
      expect(run.stderr).toContain("nothing (motd, shell rc files) prints to stdout");
    },
    TIMEOUT_MS,
  );

  test(
    "nothing listening on the port",
    async () => {
      // Port 1 (tcpmux): privileged, so the kernel never hands it to a port-0 listener. A port
      // freed just before could be taken again at once (the OpenZFS guest's forward, booting
      // beside the suite, takes one that way).
      const port = 1;
      const run = await pullWith({ type: "ssh", host: "127.0.0.1", user: "root", port, identity_file: "/nonexistent", options: ["ConnectTimeout=5"] });
      expect(run.exitCode).toBe(1);
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
      expect(run.stderr).toStartWith(`zferry: pull j: Cannot connect to ssh root@127.0.0.1:${port}: ssh failed: `);
      expect(run.stderr).toContain("Connection refused");
    },
    TIMEOUT_MS,
  );

  test(
    "a missing job root is reported before connecting",
    async () => {
      const run = await pullWith({ type: "ssh", host: "127.0.0.1", user: "root", port: 1, identity_file: "/nonexistent", options: [] }, `${pool.name}/nowhere`);
      expect(run).toEqual({
        exitCode: 1,
        stdout: "",
        stderr: `zferry: pull j: The job's root "${pool.name}/nowhere" does not exist here: create it first, e.g. "zfs create -o mountpoint=none ${pool.name}/nowhere"\n`,
      });
    },
    TIMEOUT_MS,
  );
});
