/**
 * Figures for slow links (issue: compression on the wire and a bandwidth limit), with the fake zfs
 * producing a log-like compressible stream (FAKE_ZFS_PAYLOAD=text) or an incompressible one
 * (=random):
 *  - a pull over ssh through a link of BENCH_WAN_RATE bytes/s (default 100 MB/s; a pacing relay on
 *    127.0.0.1, bench/pacing-relay.ts, in front of sshd): `compression = "zstd"` against the same
 *    job without, and against `zfs send | zstd -3 -T0 | ssh … 'zstd -d > /dev/null'` through the
 *    same relay;
 *  - the CPU cost of compression: an incompressible stream, local connect (both ends children of
 *    one shell, so all their CPU is counted), zstd against none, in core-seconds;
 *  - bandwidth_limit's accuracy: a local pull limited to BENCH_WAN_LIMIT (default 50MiB/s),
 *    sampling what the receiving zfs has read every 100 ms: the achieved rate, and the worst 1 s
 *    and 100 ms windows as multiples of the limit.
 *
 * `bun bench/wan.ts [--quick]` (`npm run bench -- wan`): BENCH_WAN_GIB (default 2; --quick: 0.0625),
 * BENCH_RUNS. --quick is for checking the bench itself; its figures mean little.
 */
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileFakeZfs, createFakeZfs, type FakeZfs } from "../test/fake-zfs/fixture.ts";
import { startSshd, type Sshd } from "../test/harness/sshd.ts";
import { BUN, GIB, REPO, benchRuns, compareThroughput, cpuShell, median, printFigure, printHeader, timeShell, type Figure } from "./lib.ts";

const QUICK = process.argv.includes("--quick");
const BYTES = Math.round(Number(process.env.BENCH_WAN_GIB ?? (QUICK ? 0.0625 : 2)) * GIB);
const RUNS = QUICK ? 1 : benchRuns();
const RATE = Number(process.env.BENCH_WAN_RATE ?? 100_000_000);
const LIMIT = process.env.BENCH_WAN_LIMIT ?? "50MiB/s";
const CIPHER = "Ciphers=aes128-gcm@openssh.com";
const ZFERRY = `${BUN} ${REPO}/src/cli.ts`;

const work = mkdtempSync(join(tmpdir(), "zferry-bench-wan-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));
const program = compileFakeZfs(join(work, "fake-zfs"));

/** Runs `fn` with a fresh source (tank/data@s1 of `bytes` of `payload`) and an empty target. */
async function withPair<T>(payload: "text" | "random", fn: (src: FakeZfs, dst: FakeZfs) => Promise<T>): Promise<T> {
  const env = { FAKE_ZFS_SEND_BYTES: String(BYTES), FAKE_ZFS_PAYLOAD: payload };
  const src = createFakeZfs({ datasets: ["tank/data@s1"], env, program });
  const dst = createFakeZfs({ datasets: ["sink/backup"], program });
  try {
    return await fn(src, dst);
  } finally {
    src[Symbol.dispose]();
    dst[Symbol.dispose]();
  }
}

/** The TOML of a pull job named `bench` into sink/backup. */
function jobToml(connect: string, extra: string): string {
  return `[jobs.bench]\ntype = "pull"\nconnect = ${connect}\nroot = "sink/backup"\n${extra}\n`;
}

async function wanFigures(): Promise<Figure[]> {
  const serverConfig = join(work, "server.toml");
  const relayed: { sshd?: Sshd; relay?: Bun.Subprocess } = {};
  try {
    const sshd = (relayed.sshd = await startSshd([
      { command: `env ZFERRY_CONFIG=${serverConfig} ${ZFERRY} stdinserver bench` },
      { command: "zstd -d -c > /dev/null" },
    ]));
    const relay = (relayed.relay = Bun.spawn([BUN, `${import.meta.dir}/pacing-relay.ts`, String(sshd.port), String(RATE)], { stdout: "pipe", stderr: "inherit" }));
    const reader = relay.stdout.getReader();
    const port = Number(new TextDecoder().decode((await reader.read()).value).trim());
    reader.releaseLock();
    // The relay is another port of the same host key.
    appendFileSync(sshd.knownHostsPath, readFileSync(sshd.knownHostsPath, "utf8").replace(`]:${sshd.port} `, `]:${port} `));
    const c = sshd.sshConnect(0);
    const options = [...c.options, CIPHER].map((o) => JSON.stringify(o)).join(", ");
    const connect = `{ type = "ssh", host = "127.0.0.1", user = "${c.user}", port = ${port}, identity_file = "${c.identity_file}", options = [${options}] }`;
    const pull = (compression: string) => () =>
      withPair("text", async (src, dst) => {
        writeFileSync(serverConfig, `[zfs]\nbin = "${src.bin}"\n\n[clients.bench]\nfilesystems = { "tank/data" = true }\n`);
        const config = join(work, "client.toml");
        writeFileSync(config, `[zfs]\nbin = "${dst.bin}"\n\n${jobToml(connect, `compression = ${compression}`)}`);
        return timeShell(`${ZFERRY} pull bench --config ${config}`);
      });
    const plain = sshd.sshArgv([], { key: 1 });
    const ssh = [plain[0]!, "-o", CIPHER, ...plain.slice(1)].map((a) => `'${a}'`).join(" ").replace(`'${sshd.port}'`, `'${port}'`);
    const pipeline = () => withPair("text", (src) => timeShell(`${src.bin} send tank/data@s1 | zstd -3 -T0 -q -c | ${ssh}`));
    const link = `${(RATE / 1e6).toFixed(0)} MB/s`;
    return [
      await compareThroughput(`WAN pull over ssh through a ${link} relay, text stream: zstd; against no compression`, BYTES, pull('"zstd"'), pull('"none"'), RUNS),
      await compareThroughput(`the same, zstd; against \`zfs send \\| zstd -3 -T0 \\| ssh … 'zstd -d'\``, BYTES, pull('"zstd"'), pipeline, RUNS),
    ];
  } finally {
    relayed.relay?.kill();
    await relayed.sshd?.[Symbol.asyncDispose]();
  }
}

/** CPU seconds of a whole local pull (client, server, zstd, fake zfs) of an incompressible stream. */
async function cpuFigure(): Promise<Figure> {
  const run = (compression: string) =>
    withPair("random", (src, dst) => {
      const config = join(work, "local.toml");
      // One fake serves both ends of a local connect; the target lives in the source's fake.
      void dst;
      writeFileSync(
        config,
        `[zfs]\nbin = "${src.bin}"\n\n[clients.bench]\nfilesystems = { "tank/data" = true }\n\n${jobToml('{ type = "local", identity = "bench" }', `root = "tank"\ncompression = ${compression}`).replace('root = "sink/backup"\n', "")}`,
      );
      return cpuShell(`${ZFERRY} pull bench --config ${config}`);
    });
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    b.push(await run('"none"'));
    a.push(await run('"zstd"'));
  }
  return { name: "CPU of a local pull, incompressible stream: zstd; against none", zferry: median(a), baseline: median(b), unit: "core-s", note: `${RUNS} runs × ${(BYTES / GIB).toFixed(2)} GiB` };
}

/** Achieved rate and worst windows of a local pull limited to LIMIT. */
async function limitLine(): Promise<string> {
  return withPair("random", async (src) => {
    const config = join(work, "limit.toml");
    writeFileSync(
      config,
      `[zfs]\nbin = "${src.bin}"\n\n[clients.bench]\nfilesystems = { "tank/data" = true }\n\n${jobToml('{ type = "local", identity = "bench" }', `bandwidth_limit = "${LIMIT}"`).replace('root = "sink/backup"', 'root = "tank"')}`,
    );
    const samples: { t: number; bytes: number }[] = [];
    const sampler = setInterval(() => samples.push({ t: performance.now(), bytes: receivedBytes(src.bin) }), 100);
    const seconds = await timeShell(`${ZFERRY} pull bench --config ${config}`);
    clearInterval(sampler);
    const limit = Number(/^[\d.]+/.exec(LIMIT)![0]) * (LIMIT.includes("GiB") ? GIB : LIMIT.includes("MiB") ? 1 << 20 : LIMIT.includes("KiB") ? 1024 : 1e6);
    const run = samples.filter((s) => s.bytes > 0 && s.bytes < BYTES);
    let worst1 = 1;
    let worst100 = 0;
    for (const [i, s] of run.entries()) {
      const next = run[i + 1];
      if (next) worst100 = Math.max(worst100, (next.bytes - s.bytes) / ((next.t - s.t) / 1000) / limit);
      const later = run.find((x) => x.t - s.t >= 1000);
      if (later) {
        const r = (later.bytes - s.bytes) / ((later.t - s.t) / 1000) / limit;
        if (Math.abs(r - 1) > Math.abs(worst1 - 1)) worst1 = r;
      }
    }
    const achieved = BYTES / seconds / limit;
    return `| bandwidth_limit = "${LIMIT}", local pull of ${(BYTES / GIB).toFixed(2)} GiB | achieved ${achieved.toFixed(3)}× the limit (whole job) | worst 1 s window ${worst1.toFixed(3)}× | worst 100 ms window ${worst100.toFixed(2)}× |`;
  });
}

/** What the fake `zfs receive` of this pair has read so far, from /proc (0 before it starts). */
function receivedBytes(fakeBin: string): number {
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmd.includes("\0receive\0")) continue;
      if (!readFileSync(`/proc/${pid}/environ`, "utf8").includes(fakeBin.slice(0, fakeBin.lastIndexOf("/")))) continue;
      return Number(/^rchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"))?.[1] ?? 0);
    } catch {
      // exited meanwhile
    }
  }
  return 0;
}

/** Every figure of this file, printed as one table. */
export async function wanBench(): Promise<void> {
  printHeader(`zferry bench: slow links (\`bun bench/wan.ts${QUICK ? " --quick" : ""}\`)`);
  for (const f of await wanFigures()) printFigure(f);
  printFigure(await cpuFigure());
  process.stdout.write(`\n| limit | rate | 1 s | 100 ms |\n|---|---|---|---|\n${await limitLine()}\n`);
}

if (import.meta.main) await wanBench();
