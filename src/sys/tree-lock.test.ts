import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { prepareLockDir, tryLockFile } from "./lock-file.ts";
import { formatProcess, processInfo } from "./process-info.ts";
import { isTreeHeldElsewhere, lockFilePath, tryLockNamed, tryLockTree } from "./tree-lock.ts";

const HOLDER = resolve(import.meta.dir, "../../test/fixtures/hold-tree-lock.ts");

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "zferry-locks-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const lock = (name: string) => tryLockTree(dir, name, { prefix: "dataset" });

/** A child process holding (or failing to take) the tree lock at `name`; it lets go when disposed. */
async function holder(name: string, startAt = 0) {
  const child = spawnHolder(name, startAt);
  return { ...child, line: await child.line };
}

/** As `holder`, without waiting for its line (so two can be started before either tries). */
function spawnHolder(name: string, startAt: number) {
  const proc = Bun.spawn([process.execPath, HOLDER, dir, name, String(startAt)], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const reader = proc.stdout.getReader();
  const line = reader.read().then((r) => new TextDecoder().decode(r.value).trim());
  return {
    proc,
    line,
    async [Symbol.asyncDispose]() {
      proc.stdin.end();
      await proc.exited;
    },
  };
}

describe("tryLockTree", () => {
  test.each([
    ["the same tree", "pool/back", "pool/back"],
    ["a tree inside a held one", "pool/back", "pool/back/x"],
    ["a tree containing a held one", "pool/back/x", "pool/back"],
    ["the pool containing a held tree", "pool/back/x/y", "pool"],
  ])("refuses %s", (_, first, second) => {
    using held = expectHeld(lock(first));
    const attempt = lock(second);
    expect(attempt).toEqual({ busy: { name: expect.any(String), path: expect.stringContaining(dir), holders: [expect.objectContaining({ pid: process.pid })] } });
    // The node both trees lock is the higher of the two.
    const higher = first.length < second.length ? first : second;
    expect("busy" in attempt && attempt.busy.name).toBe(higher);
    void held;
  });

  test.each([
    ["siblings", "pool/back/x", "pool/back/y"],
    ["names that share a prefix but not a parent", "pool/back", "pool/backup"],
    ["different pools", "pool/back", "other/back"],
  ])("lets %s be held at once", (_, first, second) => {
    using a = expectHeld(lock(first));
    using b = expectHeld(lock(second));
    void a, b;
  });

  test("a refused attempt keeps nothing locked, and a released tree can be taken again", () => {
    const first = expectHeld(lock("pool/back/x"));
    expect("busy" in lock("pool/back")).toBe(true);
    // The refused attempt took shared locks on "pool" first; they must be gone.
    using sibling = expectHeld(lock("pool/other"));
    first.release();
    using again = expectHeld(lock("pool/back"));
    void sibling, again;
  });

  test("a lock held by another process names it, with its start", async () => {
    await using child = await holder("pool/back");
    expect(child.line).toBe("locked");
    const attempt = lock("pool/back/x");
    if (!("busy" in attempt)) throw new Error("expected busy");
    expect(attempt.busy.holders.map((h) => h.pid)).toEqual([child.proc.pid]);
    const [info] = attempt.busy.holders;
    expect(info!.command).toContain("hold-tree-lock.ts");
    expect(Math.abs(info!.started!.getTime() - Date.now())).toBeLessThan(30_000);
    expect(formatProcess(info!)).toMatch(new RegExp(`^pid ${child.proc.pid} \\(.*hold-tree-lock\\.ts .*\\), started \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC$`));
  });

  test("a holder killed with SIGKILL blocks nothing: the kernel drops its lock", async () => {
    const child = await holder("pool/back");
    expect(child.line).toBe("locked");
    expect("busy" in lock("pool/back")).toBe(true);
    child.proc.kill("SIGKILL");
    expect(await child.proc.exited).not.toBe(0);
    using taken = expectHeld(lock("pool/back"));
    void taken;
  });

  test("two processes locking overlapping trees at the same instant: exactly one wins", async () => {
    for (let round = 0; round < 6; round++) {
      // Both are started, and both spin until the same moment, well after either is up.
      const startAt = Date.now() + 500;
      const pair = [round % 2 ? "pool/back" : "pool/back/x", round % 2 ? "pool/back/x" : "pool/back"];
      await using a = spawnHolder(pair[0]!, startAt);
      await using b = spawnHolder(pair[1]!, startAt);
      const lines = await Promise.all([a.line, b.line]);
      expect(lines.filter((l) => l === "locked")).toHaveLength(1);
      expect(lines.filter((l) => l.startsWith("busy "))).toHaveLength(1);
    }
  });
});

describe("isTreeHeldElsewhere", () => {
  test("is true only for the exact tree another process holds, and locks nothing", async () => {
    const held = (name: string) => isTreeHeldElsewhere(dir, name, { prefix: "dataset" });
    expect(held("pool/back")).toBe(false); // no lock file yet
    await using child = await holder("pool/back/x");
    expect(child.line).toBe("locked");
    expect([held("pool/back/x"), held("pool/back"), held("pool/back/x/y")]).toEqual([true, false, false]);
    using own = expectHeld(lock("pool/other"));
    expect(held("pool/other")).toBe(false); // this process's own
    void own;
    // The probe took nothing: the child's tree is still busy, a sibling still free.
    expect("busy" in lock("pool/back/x")).toBe(true);
  });
});

describe("lock files", () => {
  test("are created 0644 in a directory made 0755, and named after the dataset", () => {
    const locks = join(dir, "run", "zferry");
    prepareLockDir(locks);
    expect(statSync(locks).mode & 0o777).toBe(0o755);
    using held = expectHeld(tryLockTree(locks, "pool/back x", { prefix: "dataset" }));
    expect(held.path).toBe(join(locks, "dataset.pool%2Fback x.lock"));
    expect(statSync(held.path).mode & 0o777).toBe(0o644);
    expect(statSync(join(locks, "dataset.pool.lock")).isFile()).toBe(true);
  });

  test("a name too long for a file name is hashed", () => {
    const long = `pool/${"a".repeat(200)}/${"b".repeat(50)}`;
    expect(lockFilePath(dir, long, { prefix: "dataset" })).toMatch(/\/dataset\.sha256-[0-9a-f]{64}\.lock$/);
  });

  test("a lock directory others may write to is refused", () => {
    chmodSync(dir, 0o777);
    expect(() => prepareLockDir(dir)).toThrow(`The lock directory "${dir}" is writable by others (mode 777); make it 0755`);
  });

  test("a lock file that is a symlink is not followed", () => {
    symlinkSync(join(dir, "elsewhere"), join(dir, "job.x.lock"));
    expect(() => tryLockFile(join(dir, "job.x.lock"), "exclusive")).toThrow(`Cannot open the lock file "${join(dir, "job.x.lock")}"`);
  });

  test("tryLockNamed refuses a second exclusive lock and names the holder", () => {
    using first = expectHeld(tryLockNamed(join(dir, "job.p.lock")));
    expect(tryLockNamed(join(dir, "job.p.lock"))).toEqual({ busy: [processInfo(process.pid)] });
    void first;
  });
});

function expectHeld<T extends { held: Disposable & { release(): void; path: string } } | { busy: unknown }>(attempt: T) {
  if (!("held" in attempt)) throw new Error(`expected the lock to be free, got ${JSON.stringify(attempt)}`);
  return attempt.held;
}
