/**
 * Figures: `zferry pull` through `zferry stdinserver`, with the fake OpenZFS zfs producing N bytes
 * for `send` and discarding them in `recv` (so disks do not hide the transport):
 *  - local connect, against `zfs send | zfs recv` through one pipe (the machine's limit for the job);
 *  - over ssh to sshd on 127.0.0.1 (aes128-gcm), against `zfs send | ssh … 'cat > /dev/null'`:
 *    the compiled binary and `bun src/cli.ts` at BENCH_GIB, the binary at BENCH_SSH_LARGE_GIB, and
 *    the fixed cost of a whole job (a 1 MiB pull: connect, plan, receive, check) against the same
 *    pipeline moving 1 MiB;
 *  - peak RSS of client and server at two stream sizes and with a receiver throttled to 100 MB/s.
 * `bun bench/pull.ts` (BENCH_GIB, BENCH_RUNS, BENCH_SSH_LARGE_GIB; needs `npm run build`).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileFakeZfs, createFakeZfs, type FakeZfs } from "../test/fake-zfs/fixture.ts";
import { startSshd, type Sshd } from "../test/harness/sshd.ts";
import { BUN, GIB, REPO, benchBytes, benchRuns, compareLatency, compareThroughput, printFigure, printHeader, sampleRss, timeShell, type Figure } from "./lib.ts";

const CIPHER = "Ciphers=aes128-gcm@openssh.com";

let fakeProgram: string | undefined;

/**
 * The fake zfs every figure here runs, compiled once: it starts in about 10 ms where `bun zfs.ts`
 * takes about 25 (a real zfs 3–5), and a job runs some ten zfs commands where its baseline runs one.
 */
function fakeZfsProgram(): string {
  if (!fakeProgram) {
    const dir = mkdtempSync(join(tmpdir(), "zferry-bench-fake-"));
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
    fakeProgram = compileFakeZfs(join(dir, "zfs"));
  }
  return fakeProgram;
}

/** A fake zfs on the compiled program. */
function fake(datasets: string[], env: Record<string, string> = {}): FakeZfs {
  return createFakeZfs({ datasets, env, program: fakeZfsProgram() });
}

interface Side {
  fake: FakeZfs;
  config: string;
}

/**
 * A fresh source (tank/data@s1 of `bytes`) and a fresh target pool. Over ssh each side has its own
 * fake zfs; a local connect runs the server with the client's config, so one fake holds both.
 */
function freshPair(dir: string, bytes: number, connect: string, extraEnv: Record<string, string> = {}): { server: Side; client: Side } {
  const local = connect.includes('"local"');
  const serverFake = fake(local ? ["tank/data@s1", "sink/backup"] : ["tank/data@s1"], { FAKE_ZFS_SEND_BYTES: String(bytes), ...(local ? extraEnv : {}) });
  const clientFake = local ? serverFake : fake(["sink/backup"], extraEnv);
  const serverConfig = join(dir, "server.toml");
  const clientConfig = join(dir, "client.toml");
  writeFileSync(serverConfig, `[zfs]\nbin = "${serverFake.bin}"\n\n[clients.bench]\nfilesystems = { "tank/data" = true }\n`);
  writeFileSync(
    clientConfig,
    `[zfs]\nbin = "${clientFake.bin}"\n\n[clients.bench]\nfilesystems = { "tank/data" = true }\n\n` +
      `[jobs.bench]\ntype = "pull"\nconnect = ${connect}\nroot = "sink/backup"\n`,
  );
  return { server: { fake: serverFake, config: serverConfig }, client: { fake: clientFake, config: clientConfig } };
}

function dispose(pair: { server: Side; client: Side }): void {
  pair.server.fake[Symbol.dispose]();
  if (pair.client.fake !== pair.server.fake) pair.client.fake[Symbol.dispose]();
}

/** How zferry is run: `bun src/cli.ts` or the compiled binary. */
const BUN_RUN = `${BUN} ${REPO}/src/cli.ts`;
const COMPILED = `${REPO}/dist/zferry`;

async function pullOnce(dir: string, bytes: number, connect: string, env: Record<string, string> = {}, zferry = BUN_RUN): Promise<number> {
  const pair = freshPair(dir, bytes, connect, env);
  try {
    return await timeShell(`${zferry} pull bench --config ${pair.client.config}`);
  } finally {
    dispose(pair);
  }
}

async function pipeOnce(bytes: number, sinkCommand: (targetFake: FakeZfs) => string): Promise<number> {
  const src = fake(["tank/data@s1"], { FAKE_ZFS_SEND_BYTES: String(bytes) });
  const dst = fake(["sink/backup"]);
  try {
    return await timeShell(`${src.bin} send tank/data@s1 | ${sinkCommand(dst)}`);
  } finally {
    src[Symbol.dispose]();
    dst[Symbol.dispose]();
  }
}

export async function pullLocalFigure(bytes = benchBytes()): Promise<Figure> {
  const dir = mkdtempSync(join(tmpdir(), "zferry-bench-"));
  try {
    return await compareThroughput(
      "pull, local connect (one-pipe `zfs send \\| zfs recv` baseline)",
      bytes,
      () => pullOnce(dir, bytes, `{ type = "local", identity = "bench" }`),
      () => pipeOnce(bytes, (dst) => `${dst.bin} receive sink/backup/data`),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Pull over ssh: the compiled binary and `bun src/cli.ts` (each the forced command and the client)
 * at `bytes`, the binary at BENCH_SSH_LARGE_GIB (default 8), and the fixed cost of a 1 MiB job.
 */
export async function pullSshFigures(bytes = benchBytes()): Promise<Figure[]> {
  if (!existsSync(COMPILED)) throw new Error("dist/zferry is missing: run `npm run build` first");
  const dir = mkdtempSync(join(tmpdir(), "zferry-bench-"));
  const serverConfig = join(dir, "server.toml");
  const large = Math.round(Number(process.env.BENCH_SSH_LARGE_GIB ?? 8) * GIB);
  const mib = 1 << 20;
  let sshd: Sshd | undefined;
  try {
    const forced = (zferry: string) => ({ command: `env ZFERRY_CONFIG=${serverConfig} ${zferry} stdinserver bench` });
    sshd = await startSshd([forced(COMPILED), forced(BUN_RUN), { command: "cat > /dev/null" }]);
    const s = sshd;
    const connect = (key: number) => {
      const c = s.sshConnect(key);
      const options = [...c.options, CIPHER].map((o) => JSON.stringify(o)).join(", ");
      return `{ type = "ssh", host = "${c.host}", user = "${c.user}", port = ${c.port}, identity_file = "${c.identity_file}", options = [${options}] }`;
    };
    const plain = s.sshArgv([], { key: 2 });
    const sshCat = [plain[0]!, "-o", CIPHER, ...plain.slice(1)].map((a) => `'${a}'`).join(" ");
    const baseline = (n: number) => () => pipeOnce(n, () => sshCat);
    const viaCompiled = (n: number) => () => pullOnce(dir, n, connect(0), {}, COMPILED);
    const viaBunRun = (n: number) => () => pullOnce(dir, n, connect(1), {}, BUN_RUN);
    const against = "against `zfs send \\| ssh … 'cat > /dev/null'`";
    return [
      await compareThroughput(`pull over ssh, aes128-gcm, compiled binary; ${against}`, bytes, viaCompiled(bytes), baseline(bytes)),
      await compareThroughput(`pull over ssh, aes128-gcm, \`bun src/cli.ts\`; ${against}`, bytes, viaBunRun(bytes), baseline(bytes)),
      await compareThroughput(`pull over ssh, compiled binary, ${+(large / GIB).toFixed(2)} GiB per run; ${against}`, large, viaCompiled(large), baseline(large), Math.max(3, benchRuns() - 2)),
      await compareLatency(`fixed cost over ssh: a whole pull job of 1 MiB (compiled); the same pipeline moving 1 MiB`, viaCompiled(mib), baseline(mib), benchRuns() + 2),
    ];
  } finally {
    await sshd?.[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Peak RSS (MiB) of the pull job's process, which serves its local stdinserver inside it, while pulling `bytes`. */
async function peakRss(bytes: number, env: Record<string, string> = {}): Promise<{ job: number; seconds: number }> {
  const dir = mkdtempSync(join(tmpdir(), "zferry-bench-"));
  const pair = freshPair(dir, bytes, `{ type = "local", identity = "bench" }`, env);
  const t0 = performance.now();
  const proc = Bun.spawn([BUN, `${REPO}/src/cli.ts`, "pull", "bench", "--config", pair.client.config], { stdout: "ignore", stderr: "pipe" });
  const sampler = sampleRss((cmd) => (cmd.includes(pair.client.config) && cmd.includes("\0pull\0") ? "job" : null));
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  const { job = 0 } = sampler.stop();
  dispose(pair);
  rmSync(dir, { recursive: true, force: true });
  if (code !== 0) throw new Error(`pull failed: ${err.slice(-1000)}`);
  return { job, seconds: (performance.now() - t0) / 1000 };
}

export async function memoryFigures(): Promise<string[]> {
  const small = Number(process.env.BENCH_MEM_SMALL_GIB ?? 1) * GIB;
  const large = Number(process.env.BENCH_MEM_LARGE_GIB ?? 8) * GIB;
  const huge = Number(process.env.BENCH_MEM_HUGE_GIB ?? 24) * GIB;
  const throttled = Number(process.env.BENCH_MEM_THROTTLED_MIB ?? 512) * (1 << 20);
  const lines: string[] = [];
  for (const [label, bytes, env] of [
    [`${small / GIB} GiB`, small, {}],
    [`${large / GIB} GiB`, large, {}],
    [`${huge / GIB} GiB`, huge, {}],
    [`${throttled >> 20} MiB, receiver throttled to 100 MB/s`, throttled, { FAKE_ZFS_RECV_RATE: "100000000" }],
  ] as const) {
    const r = await peakRss(bytes, env);
    lines.push(`| peak RSS, pull ${label} | ${r.job.toFixed(0)} MiB | ${(bytes / GIB / r.seconds).toFixed(2)} GiB/s |`);
  }
  return lines;
}

if (import.meta.main) {
  printHeader("Pull through stdinserver (fake zfs source and sink)");
  printFigure(await pullLocalFigure());
  for (const f of await pullSshFigures()) printFigure(f);
  process.stdout.write("\n| memory | the job's process (client and local stdinserver) | rate |\n|---|---|---|\n");
  for (const line of await memoryFigures()) process.stdout.write(`${line}\n`);
}
