/**
 * A machine with both ends of a job: the fake OpenZFS `zfs` (one state for "server" and "client"),
 * a config whose jobs connect locally (the job serves identity b1 inside its own process),
 * its own lock directory, and the CLI run as a subprocess, as cron or a timer would run it.
 *
 *     using machine = localJobMachine({ datasets: ["tank/src@s1", "backup/pull"], extra: "[metrics]\n…" });
 *     const run = await machine.zferry(["run", "p"]);
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createFakeZfs, type FakeZfs } from "../fake-zfs/fixture.ts";

const CLI = resolve(import.meta.dir, "../../src/cli.ts");

export interface CliRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface LocalJobMachine extends Disposable {
  readonly fake: FakeZfs;
  /** The config file (`--config` is added by `zferry`). */
  readonly file: string;
  readonly locks: string;
  /** Runs `zferry ARGS --config FILE` to the end, with `env` added to this process's environment. */
  zferry(args: readonly string[], env?: Record<string, string>): Promise<CliRun>;
}

/**
 * Jobs in the config: `p` pulls everything identity b1 may list (`tank/src<`) into `backup/pull`;
 * `up` pushes `tank/src` into b1's receive_root `backup/sink`. `extra` is appended as TOML.
 */
export function localJobMachine(options: { datasets: string[]; extra?: string; env?: Record<string, string> }): LocalJobMachine {
  const fake = createFakeZfs({ datasets: options.datasets, ...(options.env ? { env: options.env } : {}) });
  const locks = mkdtempSync(join(tmpdir(), "zferry-local-job-locks-"));
  const file = join(fake.dir, "zferry.toml");
  writeFileSync(
    file,
    [
      `[zfs]\nbin = ${JSON.stringify(fake.bin)}\n`,
      `[locks]\ndir = ${JSON.stringify(locks)}\n`,
      `[clients.b1]\nfilesystems = { "tank<" = true }\nreceive_root = "backup/sink"\n`,
      `[jobs.p]\ntype = "pull"\nconnect = { type = "local", identity = "b1" }\nroot = "backup/pull"\n`,
      `[jobs.up]\ntype = "push"\nconnect = { type = "local", identity = "b1" }\nfilesystems = { "tank/src" = true }\n`,
      options.extra ?? "",
    ].join("\n"),
  );
  return {
    fake,
    file,
    locks,
    async zferry(args, env = {}) {
      // The lock directory comes from the config: the preload's variable is dropped.
      const { ZFERRY_LOCK_DIR: _, ...inherited } = process.env;
      await using proc = Bun.spawn([process.execPath, CLI, ...args, "--config", file], { stdout: "pipe", stderr: "pipe", env: { ...inherited, NO_COLOR: "1", ...env } });
      const [stdout, stderr, exitCode] = await Promise.all([proc.stdout.text(), proc.stderr.text(), proc.exited]);
      return { exitCode, stdout, stderr };
    },
    [Symbol.dispose]() {
      fake[Symbol.dispose]();
      rmSync(locks, { recursive: true, force: true });
    },
  };
}
