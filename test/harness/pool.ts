/**
 * Integration-test helpers for the real zfs on this machine (Debian's zfs-fuse, an old ZFS with
 * pool version 23): start the daemon, make a throwaway file-backed pool, write files into its
 * filesystems, snapshot, read them back. Pools are named `<prefix>_<pid>_<n>`, unique per test
 * process; disposing a pool destroys it and removes its backing file.
 *
 *     const fuse = await ensureZfsFuse();
 *     test.skipIf(!fuse.ok)("…", async () => {
 *       await using pool = await createTestPool("zft");
 *       const src = await createFilesystem(pool, "src");
 *     });
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startZfsFuse } from "../provision/host.ts";

export interface TestPool {
  readonly name: string;
  /** Temp dir holding the backing file and the mountpoints. */
  readonly dir: string;
  /** Directory under which `createFilesystem` mounts filesystems. */
  readonly mountpoint: string;
  [Symbol.asyncDispose](): Promise<void>;
}

export type ZfsFuseStatus = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Size of a test pool's backing file; zfs-fuse needs 64 MiB at least. */
export const POOL_FILE_SIZE = "512M";

let status: Promise<ZfsFuseStatus> | undefined;
let poolCounter = 0;

/** Makes sure the zfs-fuse daemon runs (starting it when root); says why not when it cannot. */
export function ensureZfsFuse(): Promise<ZfsFuseStatus> {
  status ??= checkZfsFuse();
  return status;
}

/**
 * Creates `<prefix>_<pid>_<n>` on a sparse file of `size` (truncate's syntax; 512 MiB unless
 * asked), with `-m none` so nothing mounts until a filesystem asks for it. Also destroys pools
 * this helper left behind in dead test processes.
 */
export async function createTestPool(prefix = "zft", size = POOL_FILE_SIZE): Promise<TestPool> {
  await destroyStalePools(prefix);
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-pool-`));
  const file = join(dir, "vdev");
  const mountpoint = join(dir, "mnt");
  mkdirSync(mountpoint);
  const name = `${prefix}_${process.pid}_${++poolCounter}`;
  try {
    await sh(["truncate", "-s", size, file]);
    await sh(["zpool", "create", "-m", "none", name, file]);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    name,
    dir,
    mountpoint,
    async [Symbol.asyncDispose]() {
      await destroyPool(name);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `zfs create -o mountpoint=<pool.mountpoint>/<rel> <pool>/<rel>`; returns the dataset name. */
export async function createFilesystem(pool: TestPool, rel: string): Promise<string> {
  const name = `${pool.name}/${rel}`;
  await zfsCli(["create", "-o", `mountpoint=${join(pool.mountpoint, rel)}`, name]);
  return name;
}

/** Mounts a (received) filesystem under the pool's mountpoint; returns the directory. */
export async function mountAt(pool: TestPool, dataset: string, rel: string): Promise<string> {
  const path = join(pool.mountpoint, rel);
  await zfsCli(["set", `mountpoint=${path}`, dataset]);
  if ((await zfsCli(["get", "-H", "-o", "value", "mounted", dataset])).trim() !== "yes") await zfsCli(["mount", dataset]);
  return path;
}

/** The mountpoint of a dataset, as zfs reports it. */
export async function mountpointOf(dataset: string): Promise<string> {
  return (await zfsCli(["get", "-H", "-o", "value", "mountpoint", dataset])).trim();
}

/** Writes `files` (relative path → content) below `dir`, creating directories. */
export function writeFiles(dir: string, files: Record<string, string | Uint8Array>): void {
  for (const [rel, content] of Object.entries(files)) {
    const path = join(dir, rel);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, content);
  }
}

/** Every regular file below `dir` as relative path → content (utf8). */
export function readFiles(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(dir, rel))) {
      const r = rel ? `${rel}/${entry}` : entry;
      const st = statSync(join(dir, r));
      if (st.isDirectory()) walk(r);
      else if (st.isFile()) files[r] = readFileSync(join(dir, r), "utf8");
    }
  };
  walk("");
  return files;
}

/** `zfs snapshot <dataset>@<name>`; returns the full snapshot name. */
export async function snapshot(dataset: string, name: string): Promise<string> {
  await zfsCli(["snapshot", `${dataset}@${name}`]);
  return `${dataset}@${name}`;
}

/** Runs the real zfs and returns stdout; throws with stderr on a non-zero exit. */
export function zfsCli(argv: string[]): Promise<string> {
  return sh(["zfs", ...argv]);
}

// --- internal ---

async function checkZfsFuse(): Promise<ZfsFuseStatus> {
  if (!Bun.which("zfs") || !Bun.which("zpool")) return { ok: false, reason: "zfs/zpool not installed" };
  if (!Bun.which("zfs-fuse")) return { ok: false, reason: "zfs-fuse not installed" };
  if (await zpoolAnswers()) return { ok: true };
  if (process.getuid?.() !== 0) return { ok: false, reason: "zfs-fuse is not running and starting it needs root" };
  try {
    statSync("/dev/fuse");
  } catch {
    return { ok: false, reason: "/dev/fuse is missing" };
  }
  try {
    await startZfsFuse();
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

async function zpoolAnswers(): Promise<boolean> {
  const p = Bun.spawn(["zpool", "list", "-H", "-o", "name"], { stdout: "ignore", stderr: "ignore" });
  return (await p.exited) === 0;
}

async function destroyPool(name: string): Promise<void> {
  try {
    await sh(["zpool", "destroy", "-f", name]);
  } catch {
    // A busy FUSE mount: unmount everything in the pool, then try once more.
    const mounted = await sh(["zfs", "list", "-H", "-o", "name", "-r", name]).catch(() => "");
    for (const ds of mounted.split("\n").filter(Boolean).reverse()) await sh(["zfs", "unmount", "-f", ds]).catch(() => {});
    await sh(["zpool", "destroy", "-f", name]);
  }
}

async function destroyStalePools(prefix: string): Promise<void> {
  const pools = await sh(["zpool", "list", "-H", "-o", "name"]).catch(() => "");
  for (const pool of pools.split("\n")) {
    const m = new RegExp(`^${prefix}_(\\d+)_\\d+$`).exec(pool);
    if (!m || Number(m[1]) === process.pid || isAlive(Number(m[1]))) continue;
    await destroyPool(pool).catch(() => {});
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
}

async function sh(argv: string[]): Promise<string> {
  const p = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", env: { ...process.env, LC_ALL: "C" } });
  const [out, err, code] = await Promise.all([p.stdout.text(), p.stderr.text(), p.exited]);
  if (code !== 0) throw new Error(`${argv.join(" ")}: exited ${code}: ${err.trim()}`);
  return out;
}
