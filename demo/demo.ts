/**
 * `npm run demo`: zferry end to end on this machine, as root, in a temporary folder.
 *
 * Two file-backed zfs-fuse pools (zfs-fuse installed with apt-get if missing), a dataset tree with
 * files and a snapshot on one, an initial pull through zferry's stdinserver (local connect, served
 * in this process) into the other, a second snapshot and an incremental pull, then every file
 * compared by SHA-256. The pools and the folder are removed at the end, also when a step fails or
 * on Ctrl-C.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatSummary, runPull, terminalOutput, useLocalServer, type JobResult } from "../src/client/index.ts";
import { loadConfig, type PullJobConfig } from "../src/config/index.ts";
import { serveInProcess } from "../src/server/index.ts";
import { ensureZfsFuse, createPool, destroyPool, sh } from "./_system.ts";
import { TREE, changeTree, compareTrees, fillTree, hashTree } from "./_tree.ts";

// The demo's job connects locally, and local connect serves its stdinserver inside this process,
// as `zferry pull` registers it (src/commands/_job-command.ts).
useLocalServer(serveInProcess);

const MiB = 1024 * 1024;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function step(title: string): void {
  say(`\n==> ${title}`);
}

function rate(result: JobResult): string {
  const bytes = result.outcomes.reduce((sum, o) => sum + o.bytes, 0);
  return `${(bytes / MiB).toFixed(1)} MiB in ${(result.elapsedMs / 1000).toFixed(2)} s = ${(bytes / MiB / (result.elapsedMs / 1000)).toFixed(1)} MiB/s`;
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    say("zferry demo: needs root (zfs-fuse pools, mounts, apt-get); run it as root");
    return 1;
  }
  const dir = mkdtempSync(join(tmpdir(), "zferry-demo-"));
  const src = `zfdemo_src_${process.pid}`;
  const dst = `zfdemo_dst_${process.pid}`;
  const pools: string[] = [];
  const cleanup = async () => {
    step("cleaning up");
    for (const pool of pools.reverse()) {
      await destroyPool(pool).then(
        () => say(`destroyed pool ${pool}`),
        (err: Error) => say(`could not destroy pool ${pool}: ${err.message}`),
      );
    }
    rmSync(dir, { recursive: true, force: true });
    say(`removed ${dir}`);
  };
  // Ctrl-C stops the transfer in flight; the pools and the folder are still removed.
  const stop = new AbortController();
  const onSignal = () => stop.abort(new Error("interrupted"));
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const checkpoint = () => stop.signal.throwIfAborted();
  try {
    step("zfs-fuse");
    await ensureZfsFuse(say);
    say(`zfs-fuse answers (zfs at ${Bun.which("zfs")})`);

    step("two pools on sparse 512 MiB files");
    await createPool(src, join(dir, "src.img"));
    pools.push(src);
    await createPool(dst, join(dir, "dst.img"));
    pools.push(dst);
    say(`${src} (source) and ${dst} (backup target) in ${dir}`);

    step("a dataset tree with files, snapshot @demo-1");
    const top = `${src}/data`;
    const srcDir = join(dir, "source");
    for (const rel of TREE) await sh(["zfs", "create", ...(rel === "" ? ["-o", `mountpoint=${srcDir}`] : []), rel ? `${top}/${rel}` : top]);
    const written = fillTree(srcDir);
    await sh(["zfs", "snapshot", "-r", `${top}@demo-1`]);
    say(`${TREE.length} filesystems below ${top}, ${hashTree(srcDir).size} files, ${(written / MiB).toFixed(1)} MiB`);

    const configFile = join(dir, "zferry.toml");
    writeFileSync(
      configFile,
      `# The server side: what identity "demo" may pull.
[clients.demo]
filesystems = { ${JSON.stringify(`${top}<`)} = true }

[log]
level = "warn"

# The client side: pull through a local \`zferry stdinserver demo\`.
[jobs.demo]
type = "pull"
connect = { type = "local", identity = "demo" }
root = ${JSON.stringify(`${dst}/backup`)}
initial = "all"
`,
    );
    await sh(["zfs", "create", `${dst}/backup`]);
    const config = loadConfig(configFile);
    const job = config.jobs.demo as PullJobConfig;
    const output = terminalOutput();

    checkpoint();
    step(`pull #1 (initial) into ${job.root}, as \`zferry pull demo --config ${configFile}\` does`);
    const first = await runPull(config, job, { output, signal: stop.signal });
    checkpoint();
    say(formatSummary(first));
    if (first.outcomes.some((o) => o.status !== "done")) throw new Error("the initial pull did not replicate every filesystem");

    checkpoint();
    step("change files, snapshot @demo-2");
    const changed = changeTree(srcDir);
    await sh(["zfs", "snapshot", "-r", `${top}@demo-2`]);
    say(`wrote ${(changed / MiB).toFixed(1)} MiB of changes`);

    step("pull #2 (incremental)");
    const second = await runPull(config, job, { output, signal: stop.signal });
    checkpoint();
    say(formatSummary(second));
    if (second.outcomes.some((o) => o.status !== "done")) throw new Error("the incremental pull did not replicate every filesystem");

    step("verify the files on the target");
    // Received datasets are readonly and unmounted; mounting the top one mounts the tree below it.
    const target = `${job.root}/${top}`;
    const checkDir = join(dir, "verify");
    await sh(["zfs", "set", `mountpoint=${checkDir}`, target]);
    const problems = compareTrees(hashTree(srcDir), hashTree(checkDir));
    await sh(["zfs", "inherit", "mountpoint", target]);
    if (problems.length > 0) throw new Error(`the target differs from the source:\n  ${problems.slice(0, 10).join("\n  ")}`);
    say(`${hashTree(srcDir).size} files in ${TREE.length} filesystems: every SHA-256 matches the source`);
    const snaps = (await sh(["zfs", "list", "-H", "-o", "name", "-t", "snapshot", "-r", target])).trim().split("\n");
    say(`${snaps.length} snapshots on the target, e.g. ${snaps[0]}`);

    step("done");
    say(`initial pull:     ${rate(first)}`);
    say(`incremental pull: ${rate(second)}`);
    return 0;
  } catch (err) {
    say(`\nzferry demo failed: ${(err as Error).message}`);
    return stop.signal.aborted ? 130 : 1;
  } finally {
    await cleanup();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

process.exit(await main());
