/**
 * Boots the OpenZFS guest under QEMU (pure emulation: these machines have no hardware
 * virtualisation) and makes it usable from the host: one ssh ControlMaster connection, a `zfs`
 * wrapper that runs zfs in the guest, two pools on virtual disks. The project is shared read-only
 * into the guest at the host's path, so the guest runs this checkout's `bun src/cli.ts` and
 * `dist/zferry` where the bulk data is (streams that cross ssh to the host move at ~2.5 MB/s under
 * emulation, inside the guest at ~40 MB/s).
 *
 * Networking is QEMU user networking with `restrict=on`: the guest reaches nothing but the one
 * forward, which listens on 127.0.0.1 only.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../harness/free-port.ts";
import type { GuestImage } from "./guest-image.ts";

/** What the test processes need to reach a booted guest, written as `state.json` in its run dir. */
export interface GuestState {
  readonly runDir: string;
  readonly port: number;
  /** ssh argv up to and including the destination; commands follow. */
  readonly ssh: readonly string[];
  /** Host-side executable that runs `zfs "$@"` in the guest (stdin, stdout, stderr and exit status pass through). */
  readonly zfsWrapper: string;
  /** `zfs version` in the guest, first line. */
  readonly zfsVersion: string;
  /** The project, shared read-only into the guest at this same path. */
  readonly repo: string;
  /** Pools made at boot: source and destination, one virtual disk each. */
  readonly pools: { readonly source: string; readonly target: string };
}

export interface RunningGuest extends AsyncDisposable {
  readonly state: GuestState;
  stop(): Promise<void>;
}

const READY = "ZFERRY-GUEST-READY";
const FAILED = "ZFERRY-GUEST-FAILED";
export const POOLS = { source: "zsrc", target: "zdst" } as const;

export interface BootOptions {
  readonly repo: string;
  /** Guest memory; the host has 24 GiB. */
  readonly memory?: string;
  readonly timeoutMs?: number;
  /** Called with one line per stage. */
  readonly progress?: (line: string) => void;
}

/**
 * Boots the guest and resolves once sshd answers and the pools exist.
 * @throws Error with the console's last lines when the guest does not come up
 */
export async function bootGuest(image: GuestImage, options: BootOptions): Promise<RunningGuest> {
  reapStaleGuests();
  for (let attempt = 1; ; attempt++) {
    try {
      return await bootOnce(image, options);
    } catch (error) {
      // The forward's port comes from the kernel, freed just before qemu binds it; a listener the
      // suite starts meanwhile (a test's sshd) can take it first. qemu then exits at once.
      if (!(error instanceof PortTakenError) || attempt >= 3) throw error;
      options.progress?.(`${error.message}; another port`);
    }
  }
}

/** One boot on a fresh port. */
async function bootOnce(image: GuestImage, options: BootOptions): Promise<RunningGuest> {
  const { repo, memory = "3G", timeoutMs = 300_000, progress = () => {} } = options;
  const runDir = mkdtempSync("/var/tmp/zferry-guest-run-");
  writeFileSync(join(runDir, "owner"), String(process.pid));
  const disks = [join(runDir, "source.raw"), join(runDir, "target.raw")];
  for (const disk of disks) Bun.spawnSync(["truncate", "-s", "4G", disk]);
  const port = freePort();
  const consoleLog = join(runDir, "console.log");
  const qemu = Bun.spawn(
    [
      "qemu-system-x86_64",
      "-accel", "tcg,thread=multi",
      "-cpu", "max",
      "-smp", "2",
      "-m", memory,
      "-display", "none",
      "-monitor", "none",
      "-no-reboot",
      "-serial", `file:${consoleLog}`,
      "-pidfile", join(runDir, "qemu.pid"),
      "-kernel", image.kernel,
      "-initrd", image.initrd,
      // tsc=reliable: with two emulated CPUs the kernel finds their TSCs unsynchronised and falls
      // back to the HPET, which the vDSO cannot read, so every clock_gettime becomes a syscall and an
      // emulated device read (1.3 ms each, measured; bun reads the clock thousands of times per run,
      // where hardware answers in the vDSO in nanoseconds). TCG derives the TSC from one host clock.
      "-append", `root=/dev/vda rw console=ttyS0 panic=-1 quiet tsc=reliable zferry.share=${repo}`,
      // snapshot=on: writes go to a temporary overlay, the cached image stays as built.
      "-drive", `file=${image.root},format=raw,if=virtio,snapshot=on`,
      ...disks.flatMap((disk) => ["-drive", `file=${disk},format=raw,if=virtio,cache=unsafe`]),
      "-netdev", `user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:${port}-:22`,
      "-device", "virtio-net-pci,netdev=net0",
      "-fsdev", `local,id=share,path=${repo},security_model=none,readonly=on`,
      "-device", "virtio-9p-pci,fsdev=share,mount_tag=zferry",
    ],
    { stdin: "ignore", stdout: "ignore", stderr: "pipe" },
  );
  const qemuStderr = qemu.stderr.text();
  let master: Bun.Subprocess | undefined;
  const stop = async (): Promise<void> => {
    master?.kill();
    qemu.kill("SIGKILL");
    await qemu.exited;
    rmSync(runDir, { recursive: true, force: true });
  };
  try {
    progress("booting (QEMU, pure emulation)");
    const started = Date.now();
    await waitForConsole(consoleLog, qemu, qemuStderr, started + timeoutMs);
    progress(`kernel and zfs module up in ${((Date.now() - started) / 1000).toFixed(0)} s`);

    const knownHosts = join(runDir, "known_hosts");
    writeFileSync(knownHosts, `zferry-guest ${image.hostKey}\n`);
    const controlPath = join(runDir, "ssh.ctl");
    const common = [
      "-p", String(port),
      "-i", image.controlKey,
      "-o", "IdentitiesOnly=yes",
      "-o", "HostKeyAlias=zferry-guest",
      "-o", `UserKnownHostsFile=${knownHosts}`,
      "-o", "StrictHostKeyChecking=yes",
      "-o", "BatchMode=yes",
      "-o", "LogLevel=ERROR",
      "-o", `ControlPath=${controlPath}`,
    ];
    master = await startMaster(common, controlPath, started + timeoutMs);
    const ssh = ["ssh", ...common, "-o", "ControlMaster=no", "-T", "root@127.0.0.1"];
    const zfsWrapper = join(runDir, "zfs");
    writeFileSync(
      zfsWrapper,
      // ssh joins argv into one string for the remote shell: quote each argument again.
      `#!/bin/bash\n# Runs zfs in the OpenZFS test guest.\nexec ${ssh.map(shellQuote).join(" ")} -- "$(printf '%q ' zfs "$@")"\n`,
      { mode: 0o755 },
    );
    const guestSh = async (script: string): Promise<string> => {
      const out = Bun.spawnSync([...ssh, "--", `bash -c ${shellQuote(script)}`], { stdout: "pipe", stderr: "pipe" });
      if (out.exitCode !== 0) throw new Error(`guest: ${script}: exit ${out.exitCode}: ${out.stderr.toString().trim()}`);
      return out.stdout.toString();
    };
    await guestSh(
      `zpool create -f -o ashift=12 -O mountpoint=/${POOLS.source} ${POOLS.source} /dev/vdb && ` +
        `zpool create -f -o ashift=12 -O mountpoint=/${POOLS.target} ${POOLS.target} /dev/vdc`,
    );
    const zfsVersion = (await guestSh("zfs version")).split("\n")[0]!.trim();
    const state: GuestState = { runDir, port, ssh, zfsWrapper, zfsVersion, repo, pools: POOLS };
    writeFileSync(join(runDir, "state.json"), JSON.stringify(state));
    progress(`ready: ${zfsVersion}, ssh on 127.0.0.1:${port}, ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return { state, stop, [Symbol.asyncDispose]: stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

// --- internal ---

/** qemu could not bind the forward's port: another listener took it after freePort. */
class PortTakenError extends Error {
  override name = "PortTakenError";
}

async function waitForConsole(consoleLog: string, qemu: Bun.Subprocess, stderr: Promise<string>, deadline: number): Promise<void> {
  for (;;) {
    const text = existsSync(consoleLog) ? readFileSync(consoleLog, "utf8") : "";
    const failed = text.split("\n").find((line) => line.startsWith(FAILED));
    if (failed) throw new Error(`the OpenZFS guest failed to boot: ${failed.slice(FAILED.length).trim()}\n${tail(text)}`);
    if (text.includes(READY)) return;
    if (qemu.exitCode !== null) {
      const said = (await stderr).trim();
      if (said.includes("Could not set up host forwarding rule")) throw new PortTakenError(`qemu could not listen for the forward: ${said}`);
      throw new Error(`qemu exited ${qemu.exitCode}: ${said}\n${tail(text)}`);
    }
    if (Date.now() > deadline) throw new Error(`the OpenZFS guest did not come up in time; console:\n${tail(text)}`);
    await Bun.sleep(250);
  }
}

async function startMaster(common: string[], controlPath: string, deadline: number): Promise<Bun.Subprocess> {
  for (;;) {
    const master = Bun.spawn(["ssh", ...common, "-M", "-N", "-o", "ServerAliveInterval=10", "root@127.0.0.1"], {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
    });
    const check = async (): Promise<boolean> => Bun.spawnSync(["ssh", "-o", `ControlPath=${controlPath}`, "-O", "check", "x"], { stderr: "ignore" }).exitCode === 0;
    for (let i = 0; i < 40 && master.exitCode === null; i++) {
      if (await check()) return master;
      await Bun.sleep(250);
    }
    const why = master.exitCode === null ? "no control socket" : (await master.stderr.text()).trim();
    master.kill();
    if (Date.now() > deadline) throw new Error(`ssh to the OpenZFS guest failed: ${why}`);
    await Bun.sleep(1000);
  }
}

/** Kills guests whose test run died without stopping them, and removes their run dirs. */
function reapStaleGuests(): void {
  for (const entry of readdirSync("/var/tmp")) {
    if (!entry.startsWith("zferry-guest-run-")) continue;
    const dir = join("/var/tmp", entry);
    const owner = Number(readOr(join(dir, "owner")));
    if (owner && existsSync(`/proc/${owner}`)) continue;
    const qemuPid = Number(readOr(join(dir, "qemu.pid")));
    if (qemuPid && readOr(`/proc/${qemuPid}/cmdline`).includes("qemu-system")) process.kill(qemuPid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

function readOr(path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return "";
  }
}

function tail(text: string): string {
  return text.trim().split("\n").slice(-20).join("\n");
}
