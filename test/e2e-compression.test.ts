/**
 * Wire compression end to end: the CLI as a subprocess, a real sshd whose forced command is
 * `zferry stdinserver ID`, and the real zfs on this machine (zfs-fuse, pool v23, which cannot
 * confine in the receive: every stream here goes through the first-record check on the
 * decompressed stream). Three servers: one with zstd, one without, one whose compressor fails.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, connectToml, tomlTable, zferry } from "./harness/cli.ts";
import { canRunSshd, startSshd, type Sshd } from "./harness/sshd.ts";
import { createTestPool, ensureZfsFuse, snapshot, writeFiles, zfsCli, type TestPool } from "./harness/pool.ts";

const TIMEOUT_MS = 90_000;

const fuse = await ensureZfsFuse();
const ready = fuse.ok && canRunSshd() && Bun.which("zstd") !== null;
if (!ready) console.warn(`e2e compression skipped: ${fuse.ok ? "needs root, /usr/sbin/sshd and zstd" : fuse.reason}`);

async function guids(dataset: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const lines = (await zfsCli(["list", "-H", "-o", "name,guid", "-t", "snapshot", "-r", "-d", "1", dataset])).split("\n").filter(Boolean);
  for (const line of lines) {
    const [name, guid] = line.split("\t");
    out[name!.slice(name!.indexOf("@") + 1)] = guid!;
  }
  return out;
}

async function exists(dataset: string): Promise<boolean> {
  return (await zfsCli(["list", "-H", "-o", "name", "-r", dataset.split("/")[0]!])).split("\n").includes(dataset);
}

/** zfs send/receive and zstd processes whose command line mentions `needle` (zstd: any), as "pid argv". */
function leftovers(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    const zfs = /(^|\/)zfs$/.test(argv[0] ?? "") && ["send", "receive", "recv"].includes(argv[1] ?? "") && argv.some((a) => a.includes(needle));
    const zstd = /(^|\/)(zstd|failing-zstd)$/.test(argv[0] ?? "") || argv.some((a) => a.endsWith("failing-zstd"));
    if (zfs || zstd) found.push(`${pid} ${argv.join(" ").trim()}`);
  }
  return found;
}

describe.skipIf(!ready)("compressed pull and push over ssh (zfs-fuse)", () => {
  let dir: string;
  let src: TestPool;
  let dst: TestPool;
  let sshd: Sshd;
  let clientToml: string;
  const ds = (rel: string) => `${src.name}/${rel}`;
  const pulled = (rel: string) => `${dst.name}/back/${src.name}/${rel}`;
  const srcDir = (rel: string) => join(src.mountpoint, `m-${rel}`);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "zferry-zstd-"));
    src = await createTestPool("zfzst");
    dst = await createTestPool("zfzst");
    for (const rel of ["text", "other", "push"]) await zfsCli(["create", "-o", `mountpoint=${srcDir(rel)}`, ds(rel)]);
    // Compressible: the same lines over and over, as logs and source trees are.
    const text = Array.from({ length: 120_000 }, (_, i) => `line ${i % 500} of a very repetitive log file\n`).join("");
    writeFiles(srcDir("text"), { "log.txt": text });
    await snapshot(ds("text"), "t1");
    writeFiles(srcDir("text"), { "more.txt": text.slice(0, 1_000_000) });
    await snapshot(ds("text"), "t2");
    writeFiles(srcDir("other"), { "o.txt": text });
    await snapshot(ds("other"), "o1");
    writeFiles(srcDir("push"), { "p.txt": text });
    await snapshot(ds("push"), "p1");
    await zfsCli(["create", `${dst.name}/back`]);
    await zfsCli(["create", `${dst.name}/sink`]);

    // A compressor that takes some input, then fails as a crashing zstd would.
    const failing = join(dir, "failing-zstd");
    writeFileSync(failing, '#!/bin/sh\nhead -c 65536 >/dev/null\necho "zstd: error 70 : Write error : cannot write block" >&2\nexit 70\n');
    chmodSync(failing, 0o755);
    const zfsBin = Bun.which("zfs") ?? "/usr/sbin/zfs";
    const serverToml = join(dir, "server.toml");
    writeFileSync(
      serverToml,
      [
        `[zfs]\nbin = ${JSON.stringify(zfsBin)}\n`,
        `[log]\nlevel = "info"\nfile = ${JSON.stringify(join(dir, "server.log"))}\n`,
        `[clients.b1]\nfilesystems = ${tomlTable({ [`${src.name}<`]: true })}\nreceive_root = ${JSON.stringify(`${dst.name}/sink`)}\n`,
        `[clients.b2]\nfilesystems = ${tomlTable({ [`${src.name}<`]: true })}\nbandwidth_limit = "2MiB/s"\n`,
        `[locks]\ndir = ${JSON.stringify(join(dir, "server-locks"))}\n`,
      ].join("\n"),
    );
    const server = `${process.execPath} ${CLI} stdinserver b1`;
    sshd = await startSshd([
      { command: `env ZFERRY_CONFIG=${serverToml} ${server}` },
      { command: `env ZFERRY_CONFIG=${serverToml} ZFERRY_ZSTD=/nonexistent/zstd ${server}` },
      { command: `env ZFERRY_CONFIG=${serverToml} ZFERRY_ZSTD=${failing} ${server}` },
      { command: `env ZFERRY_CONFIG=${serverToml} ${process.execPath} ${CLI} stdinserver b2` },
    ]);
    clientToml = join(dir, "client.toml");
    const job = (name: string, key: number, body: Record<string, string>) =>
      [`[jobs.${name}]`, `connect = ${connectToml(sshd.sshConnect(key))}`, ...Object.entries(body).map(([k, v]) => `${k} = ${v}`), ""].join("\n");
    const root = JSON.stringify(`${dst.name}/back`);
    const only = (rel: string) => tomlTable({ [ds(rel)]: true });
    writeFileSync(
      clientToml,
      [
        job("zpull", 0, { type: '"pull"', root, filesystems: only("text"), initial: '"all"', compression: '{ type = "zstd", level = 3 }' }),
        job("zpush", 0, { type: '"push"', filesystems: only("push"), compression: '"zstd"' }),
        job("strict", 1, { type: '"pull"', root, filesystems: only("other"), compression: '"zstd"' }),
        job("lenient", 1, { type: '"pull"', root, filesystems: only("other"), compression: '{ type = "zstd", fallback = "none" }' }),
        job("capped", 3, { type: '"pull"', root, filesystems: only("other"), bandwidth_limit: '"50MiB/s"' }),
        job("paced", 0, { type: '"pull"', root, filesystems: only("other"), bandwidth_limit: '"2MiB/s"' }),
        job("broken-push", 2, { type: '"push"', filesystems: only("push"), compression: '"zstd"' }),
        job("broken", 2, { type: '"pull"', root, filesystems: only("other"), compression: '"zstd"' }),
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
    "a zstd pull brings every snapshot with the source's GUIDs, fewer bytes on the wire than in the stream",
    async () => {
      const run = await zferry(["pull", "zpull", "--config", clientToml, "--json"]);
      expect({ exitCode: run.exitCode }).toEqual({ exitCode: 0 });
      expect(await guids(pulled("text"))).toEqual(await guids(ds("text")));
      const report = JSON.parse(run.stdout);
      const fs = report.filesystems[0];
      expect({ status: fs.status, snapshots: fs.snapshots }).toEqual({ status: "done", snapshots: 2 });
      // The stream bytes are zstd's exact count; the text compresses far below a tenth.
      expect(fs.bytes).toBeGreaterThan(5_000_000);
      expect(fs.wire_bytes).toBeGreaterThan(0);
      expect(fs.wire_bytes * 10).toBeLessThan(fs.bytes);
      expect(run.stderr).toMatch(/pull zpull: 1 filesystem: 1 done, .* on the wire \(\d+%\)/);
      // The server's request line names the compression and both counts.
      const log = readFileSync(join(dir, "server.log"), "utf8");
      expect(log).toMatch(/endpoint=send .*compression="zstd-3"/);
      // Both ends count the same stream: the server's compressor input, our decompressor output.
      const serverStream = [...log.matchAll(/endpoint=send .*stream_bytes=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
      expect(serverStream).toBe(fs.bytes);
      // One request id per transfer, the same in our --json and in the server's log line.
      expect(fs.requests).toHaveLength(2);
      for (const id of fs.requests) expect(log).toMatch(new RegExp(`request=${id} identity="b1" endpoint=send `));
      expect(leftovers(src.name)).toEqual([]);
    },
    TIMEOUT_MS,
  );

  test(
    "a zstd push lands with the source's GUID",
    async () => {
      const run = await zferry(["push", "zpush", "--config", clientToml]);
      expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({ exitCode: 0, stderr: "" });
      expect(run.stdout).toMatch(/on the wire \(\d+%\)/);
      expect(await guids(`${dst.name}/sink/${ds("push")}`)).toEqual(await guids(ds("push")));
    },
    TIMEOUT_MS,
  );

  test(
    "a server without zstd: the job fails with what to do, unless it allows fallback = none",
    async () => {
      const strict = await zferry(["pull", "strict", "--config", clientToml]);
      expect(strict.exitCode).not.toBe(0);
      expect(strict.stderr).toContain('compression "zstd" is not available on the server (identity "b1"): install zstd there');
      expect(strict.stderr).not.toContain("    at ");
      expect(await exists(pulled("other"))).toBe(false);

      const lenient = await zferry(["pull", "lenient", "--config", clientToml]);
      expect({ exitCode: lenient.exitCode, stderr: lenient.stderr }).toEqual({ exitCode: 0, stderr: "" });
      expect(lenient.stdout).toContain('compression "zstd" is not available on the server (identity "b1"): sending uncompressed (fallback = "none")');
      expect(await guids(pulled("other"))).toEqual(await guids(ds("other")));
      await zfsCli(["destroy", "-r", pulled("other")]);
    },
    TIMEOUT_MS,
  );

  test(
    "bandwidth_limit: the server paces its send to the job's limit",
    async () => {
      const run = await zferry(["pull", "paced", "--config", clientToml, "--json"]);
      expect(run.exitCode).toBe(0);
      const fs = JSON.parse(run.stdout).filesystems[0];
      expect(await guids(pulled("other"))).toEqual(await guids(ds("other")));
      // About 5 MB uncompressed at 2 MiB/s: well over 2 s, where unpaced it takes a fraction of one.
      const seconds = fs.wire_bytes / (2 * 1024 * 1024);
      expect(seconds).toBeGreaterThan(2);
      expect(fs.elapsed_seconds).toBeGreaterThan(seconds * 0.9);
      expect(readFileSync(join(dir, "server.log"), "utf8")).toMatch(/endpoint=send .*bandwidth_limit=2097152/);
      await zfsCli(["destroy", "-r", pulled("other")]);
    },
    TIMEOUT_MS,
  );

  test(
    "a server's bandwidth_limit for the identity caps a job that asks for more",
    async () => {
      const run = await zferry(["pull", "capped", "--config", clientToml, "--json"]);
      expect(run.exitCode).toBe(0);
      const fs = JSON.parse(run.stdout).filesystems[0];
      expect(fs.elapsed_seconds).toBeGreaterThan((fs.wire_bytes / (2 * 1024 * 1024)) * 0.9);
      expect(readFileSync(join(dir, "server.log"), "utf8")).toMatch(/identity="b2" endpoint=send .*bandwidth_limit=2097152/);
      await zfsCli(["destroy", "-r", pulled("other")]);
    },
    TIMEOUT_MS,
  );

  test(
    "a compressor that fails fails the transfer with its message, receives nothing and leaves no process",
    async () => {
      const run = await zferry(["pull", "broken", "--config", clientToml]);
      expect(run.exitCode).not.toBe(0);
      expect(run.stderr).toContain("compression failed: exit 70: zstd: error 70 : Write error : cannot write block");
      // The failure names its request, and the server's log line for it says what went wrong there.
      const id = /\[request ([0-9a-f]{12})\]/.exec(run.stderr)?.[1];
      expect(id).toBeDefined();
      expect(readFileSync(join(dir, "server.log"), "utf8")).toMatch(new RegExp(`request=${id} identity="b1" endpoint=send .*compression failed`));
      expect(run.stderr).not.toContain("    at ");
      expect(await exists(pulled("other"))).toBe(false);
      expect(leftovers(src.name)).toEqual([]);
    },
    TIMEOUT_MS,
  );

  test(
    "a server whose decompressor fails refuses the push with its message and keeps nothing of it",
    async () => {
      await zfsCli(["destroy", "-r", `${dst.name}/sink/${ds("push")}`]);
      const run = await zferry(["push", "broken-push", "--config", clientToml]);
      expect(run.exitCode).not.toBe(0);
      expect(run.stderr).toContain("decompression failed: exit 70: zstd: error 70 : Write error : cannot write block");
      expect(run.stderr).not.toContain("    at ");
      expect(await exists(`${dst.name}/sink/${ds("push")}`)).toBe(false);
      expect(leftovers(src.name)).toEqual([]);
    },
    TIMEOUT_MS,
  );
});
