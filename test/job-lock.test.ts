/**
 * One run of a job at a time, and one writer per dataset tree, as cron would trigger them: the CLI
 * as subprocesses, local connect (the job serves its stdinserver inside its own process), and
 * the fake OpenZFS `zfs` on both sides with a slow receiver (FAKE_ZFS_RECV_RATE), which holds the
 * first run in flight for seconds, deterministically.
 *
 * A refused run must exit EXIT_BUSY with one line naming the running process, and run no zfs at
 * all (the fake logs every invocation, the local stdinserver's too), so it cannot have connected.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { tryLockNamed } from "../src/sys/tree-lock.ts";
import { createFakeZfs, FAKE_ZFS_PATH, type FakeZfs } from "./fake-zfs/fixture.ts";

const CLI = resolve(import.meta.dir, "../src/cli.ts");
const EXIT_BUSY = 75;
/** 4 MiB streams into a receiver reading 1 MiB/s: the first run's receive takes about 4 s. */
const SLOW = { FAKE_ZFS_SEND_BYTES: String(4 << 20), FAKE_ZFS_RECV_RATE: String(1 << 20) };

let fake: FakeZfs | null = null;
let locks = "";
afterEach(() => {
  fake?.[Symbol.dispose]();
  fake = null;
  if (locks) rmSync(locks, { recursive: true, force: true });
});

function setup() {
  fake = createFakeZfs({ datasets: ["tank/src@s1", "backup/pull/tank", "backup/other", "backup/sink"], env: SLOW });
  locks = mkdtempSync(join(tmpdir(), "zferry-job-locks-"));
  const file = join(fake.dir, "zferry.toml");
  const pull = (name: string, root: string) => `[jobs.${name}]\ntype = "pull"\nconnect = { type = "local", identity = "b1" }\nroot = "${root}"\n`;
  const push = (name: string, identity: string) => `[jobs.${name}]\ntype = "push"\nconnect = { type = "local", identity = "${identity}" }\nfilesystems = { "tank/src" = true }\n`;
  writeFileSync(
    file,
    [
      `[zfs]\nbin = ${JSON.stringify(fake.bin)}\n`,
      `[locks]\ndir = ${JSON.stringify(locks)}\n`,
      `[clients.b1]\nfilesystems = { "tank/src<" = true }\nreceive_root = "backup/sink"\n`,
      `[clients.b2]\nfilesystems = { "tank/src<" = true }\nreceive_root = "backup/sink"\n`,
      pull("p", "backup/pull"),
      pull("inner", "backup/pull/tank"),
      pull("outer", "backup"),
      pull("sibling", "backup/other"),
      push("push1", "b1"),
      push("push2", "b2"),
    ].join("\n"),
  );
  return { fake, file };
}

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Starts `zferry ARGS`; the lock directory comes from the config (the preload's variable is dropped). */
function start(args: string[]) {
  const { ZFERRY_LOCK_DIR: _, ...inherited } = process.env;
  const env = { ...inherited, NO_COLOR: "1" };
  return Bun.spawn([process.execPath, CLI, ...args], { stdout: "pipe", stderr: "pipe", env });
}

async function finish(proc: ReturnType<typeof start>): Promise<Run> {
  const [stdout, stderr, exitCode] = await Promise.all([proc.stdout.text(), proc.stderr.text(), proc.exited]);
  return { exitCode, stdout, stderr };
}

const zferry = (args: string[]) => finish(start(args));

/** Waits until the fake sends and receives (the first run is then in flight, and runs no other zfs). */
async function receiving(fake: FakeZfs): Promise<void> {
  const deadline = Date.now() + 20_000;
  const inFlight = (calls: string[][]) => calls.some((argv) => argv[0] === "receive") && calls.some((argv) => argv[0] === "send" && argv[1] !== "-n");
  while (!inFlight(fake.calls())) {
    if (Date.now() > deadline) throw new Error("the first run never started its receive");
    await Bun.sleep(10); // the fake's argv log is a file: nothing to wait on but its content
  }
}

/** The line a refused run prints, naming `pid` and when it started. */
function busyLine(prefix: string, pid: number, rest: string): RegExp {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^zferry: ${esc(prefix)}pid ${pid} \\([^\\n]*cli\\.ts pull p --config [^\\n]*\\), started \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC${esc(rest)}\\n$`);
}

describe("one run of a job at a time", () => {
  test("a second `zferry pull p` while the first receives exits 75 at once, naming the first, and runs no zfs", async () => {
    const { fake, file } = setup();
    const first = start(["pull", "p", "--config", file]);
    await receiving(fake);
    const calls = fake.calls().length;
    const startedAt = performance.now();
    const second = await zferry(["pull", "p", "--config", file]);
    expect(performance.now() - startedAt).toBeLessThan(3_000);
    expect(second.exitCode).toBe(EXIT_BUSY);
    expect(second.stdout).toBe("");
    expect(second.stderr).toMatch(busyLine('pull p: not started: job "p" is already running: ', first.pid, ""));
    expect(fake.calls().length).toBe(calls); // not even the local stdinserver's zfs probe

    const done = await finish(first);
    expect({ exitCode: done.exitCode, stderr: done.stderr }).toEqual({ exitCode: 0, stderr: "" });
    expect(Object.keys(fake.state().datasets["backup/pull/tank/src"]!.snapshots)).toEqual(["s1"]);
    // The lock went with the first run: the next one runs (and has nothing to do).
    const third = await zferry(["pull", "p", "--config", file]);
    expect(third.exitCode).toBe(0);
    expect(third.stdout).toContain("pull p: 1 filesystem: 0 done, 1 up to date");
  }, 60_000);

  test("a second run of a push job is refused the same way", async () => {
    const { fake, file } = setup();
    const first = start(["push", "push1", "--config", file]);
    await receiving(fake);
    const calls = fake.calls().length;
    const second = await zferry(["push", "push1", "--config", file]);
    expect(second.exitCode).toBe(EXIT_BUSY);
    expect(second.stderr).toMatch(new RegExp(`^zferry: push push1: not started: job "push1" is already running: pid ${first.pid} \\([^\\n]*push push1[^\\n]*\\), started [^\\n]* UTC\\n$`));
    expect(fake.calls().length).toBe(calls);
    expect((await finish(first)).exitCode).toBe(0);
  }, 60_000);

  test("a run killed with SIGKILL leaves no lock behind, and none of its children holds one", async () => {
    const { fake, file } = setup();
    // More than every pipe between the two zfs can hold, so the send is still running when looked at.
    fake.setEnv({ FAKE_ZFS_SEND_BYTES: String(64 << 20) });
    const first = start(["pull", "p", "--config", file]);
    await receiving(fake);
    // Its zfs receive and the zfs send of its local stdinserver (which serves inside the run)
    // opened no lock file: the locks are close-on-exec, so nothing can outlive the run that took them.
    const children = descendantsOf(first.pid);
    expect(children.length).toBeGreaterThanOrEqual(2);
    expect(children.filter((pid) => commandOf(pid).includes("stdinserver"))).toEqual([]);
    expect(children.flatMap((pid) => openFilesOf(pid)).filter((path) => path.startsWith(locks))).toEqual([]);
    expect(openFilesOf(first.pid).filter((path) => path.startsWith(locks)).sort()).toEqual([`${locks}/dataset.backup%2Fpull.lock`, `${locks}/dataset.backup.lock`, `${locks}/job.p.lock`]);

    first.kill("SIGKILL");
    await first.exited;
    const lock = tryLockNamed(join(locks, "job.p.lock"));
    expect("held" in lock).toBe(true);
    if ("held" in lock) lock.held.release();

    await waitUntil("the killed run's fake zfs processes to exit", () => fakeProcesses().length === 0);
    fake.setEnv({ FAKE_ZFS_RECV_RATE: undefined }); // the same stream (a partial receive resumes it), at full speed
    const next = await zferry(["pull", "p", "--config", file]);
    expect({ exitCode: next.exitCode, stderr: next.stderr }).toEqual({ exitCode: 0, stderr: "" });
  }, 60_000);

  test("a dry run takes no lock: it runs beside a real run and changes nothing", async () => {
    const { fake, file } = setup();
    const first = start(["pull", "p", "--config", file]);
    await receiving(fake);
    const dry = await zferry(["pull", "p", "--config", file, "--dry-run"]);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain("nothing was changed");
    expect((await finish(first)).exitCode).toBe(0);
  }, 60_000);
});

describe("the lock directory", () => {
  test("one that others may write to is refused in one line, exit 1, before any zfs runs", async () => {
    const { fake, file } = setup();
    chmodSync(locks, 0o777);
    const run = await zferry(["pull", "p", "--config", file]);
    expect(run).toEqual({ exitCode: 1, stdout: "", stderr: `zferry: pull p: The lock directory "${locks}" is writable by others (mode 777); make it 0755\n` });
    expect(fake.calls()).toEqual([]);
  });
});

describe("one writer per dataset tree", () => {
  test("pull jobs whose roots overlap the running job's are refused; a sibling root runs", async () => {
    const { fake, file } = setup();
    const first = start(["pull", "p", "--config", file]);
    await receiving(fake);
    const calls = fake.calls().length;
    // One after the other: each holds a shared lock on "backup" while it tries, which the other would see.
    const inner = await zferry(["pull", "inner", "--config", file]);
    const outer = await zferry(["pull", "outer", "--config", file]);
    expect(fake.calls().length).toBe(calls);
    expect(inner.exitCode).toBe(EXIT_BUSY);
    expect(inner.stderr).toMatch(
      busyLine('pull inner: not started: the job\'s root "backup/pull/tank" is inside "backup/pull", which is being written by ', first.pid, ` (lock ${locks}/dataset.backup%2Fpull.lock)`),
    );
    expect(outer.exitCode).toBe(EXIT_BUSY);
    expect(outer.stderr).toMatch(busyLine('pull outer: not started: the job\'s root "backup", or a dataset below it, is being written by ', first.pid, ` (lock ${locks}/dataset.backup.lock)`));

    const sibling = await zferry(["pull", "sibling", "--config", file]);
    expect({ exitCode: sibling.exitCode, stderr: sibling.stderr }).toEqual({ exitCode: 0, stderr: "" });
    expect((await finish(first)).exitCode).toBe(0);
  }, 60_000);

  test("two overlapping jobs started at the same moment: exactly one runs, the other exits 75", async () => {
    const { fake, file } = setup();
    const [a, b] = [start(["pull", "p", "--config", file]), start(["pull", "inner", "--config", file])];
    const runs = await Promise.all([finish(a), finish(b)]);
    expect(runs.map((r) => r.exitCode).sort()).toEqual([0, EXIT_BUSY]);
    const refused = runs.find((r) => r.exitCode === EXIT_BUSY)!;
    expect(refused.stderr).toMatch(/^zferry: pull (p|inner): not started: the job's root .* is being written by pid \d+ .*\n$/);
    expect(fake.calls().filter((argv) => argv[0] === "receive")).toHaveLength(1);
  }, 60_000);
});

describe("stdinserver: one receive per dataset", () => {
  test("a push from another identity into a dataset being received is refused with busy, per filesystem, and changes nothing", async () => {
    const { fake, file } = setup();
    const first = start(["push", "push1", "--config", file]);
    await receiving(fake);
    const second = await zferry(["push", "push2", "--config", file]);
    expect(second.exitCode).toBe(1);
    const server = /pid (\d+), started/.exec(second.stderr)?.[1];
    expect(second.stderr).toMatch(
      new RegExp(
        '^zferry: push push2: tank/src: Cannot receive into "backup/sink/tank/src": it, or a dataset below it, is being written by pid \\d+, started [0-9: -]+ UTC; ' +
          "nothing was changed, try again when that is done \\[request [0-9a-f]{12}\\]\nzferry: push push2: 1 filesystem failed\n$",
      ),
    );
    // The holder is the first push's local stdinserver, which serves inside the first run.
    expect(Number(server)).toBe(first.pid);
    expect(second.stdout).toContain("push push2: 1 filesystem: 0 done, 0 up to date, 0 skipped, 1 failed");
    expect(fake.calls().filter((argv) => argv[0] === "receive")).toHaveLength(1);

    expect((await finish(first)).exitCode).toBe(0);
    expect(Object.keys(fake.state().datasets["backup/sink/tank/src"]!.snapshots)).toEqual(["s1"]);
  }, 60_000);
});

// --- helpers ---

/** Running fake zfs processes (the wrapper execs `bun …/fake-zfs/zfs`). */
function fakeProcesses(): number[] {
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(FAKE_ZFS_PATH) && readFileSync(`/proc/${pid}/environ`, "utf8").includes(fake!.statePath);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Every process below `root`, from the ppid field of /proc/PID/stat. */
function descendantsOf(root: number): number[] {
  const parents = new Map<number, number>();
  for (const e of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) parents.set(Number(e), parentOf(Number(e)));
  const found: number[] = [];
  for (let frontier = [root]; frontier.length; ) {
    frontier = [...parents].filter(([, ppid]) => frontier.includes(ppid)).map(([pid]) => pid);
    found.push(...frontier);
  }
  return found;
}

/** The paths `pid` has open (its /proc/PID/fd links). */
function openFilesOf(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        return [readlinkSync(`/proc/${pid}/fd/${fd}`)];
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return -1;
  }
}

async function waitUntil(what: string, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await Bun.sleep(20); // polling the process table: there is no event to wait on
  }
}
