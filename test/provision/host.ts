/**
 * What the test suite needs on this host, installed or started when missing: Debian packages
 * (zfs-fuse, OpenSSH, QEMU and the guest's build tools), the zfs-fuse daemon, sshd's privilege
 * separation directory. One line per step on stderr; a step that cannot be done throws with a
 * one-line reason. Safe to run again: what is already there is left alone.
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { step } from "./step.ts";

/** Packages the suite uses on the host. */
export const HOST_PACKAGES = [
  "zfs-fuse",
  "openssh-server",
  "openssh-client",
  "zstd",
  // systemd-analyze checks the shipped unit files (test/systemd-units.test.ts).
  "systemd",
  // The OpenZFS guest: built with mmdebstrap into an ext4 image, booted under QEMU (TCG).
  "qemu-system-x86",
  "qemu-utils",
  "mmdebstrap",
  "e2fsprogs",
] as const;

export interface HostOptions {
  /** Also the packages for the OpenZFS guest (default true). */
  readonly openzfs?: boolean;
}

export async function provisionHost(options: HostOptions = {}): Promise<void> {
  const { openzfs = true } = options;
  if (process.getuid?.() !== 0) throw new Error("the test suite runs as root (it makes pools and starts sshd)");
  const wanted = HOST_PACKAGES.filter((p) => openzfs || !["qemu-system-x86", "qemu-utils", "mmdebstrap", "e2fsprogs"].includes(p));
  await installPackages(wanted);
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  await startZfsFuse();
}

/** Installs what `dpkg-query` does not report installed, with one `apt-get update` first. */
async function installPackages(packages: readonly string[]): Promise<void> {
  const missing = packages.filter((p) => !installed(p));
  if (missing.length === 0) {
    step(`packages: all present (${packages.join(", ")})`);
    return;
  }
  await step(`packages: installing ${missing.join(", ")}`, async () => {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    await run(["apt-get", "update", "-q"], env);
    await run(["apt-get", "install", "-y", "-q", "--no-install-recommends", ...missing], env);
  });
}

function installed(pkg: string): boolean {
  const q = Bun.spawnSync(["dpkg-query", "-W", "-f=${Status}", pkg], { stdout: "pipe", stderr: "ignore" });
  return q.exitCode === 0 && q.stdout.toString().includes("install ok installed");
}

/**
 * Starts the zfs-fuse daemon unless it runs, and waits until `zpool list` answers. A daemon that
 * is still exporting its pools after being stopped shows up as running but never answers: once
 * it is gone, a new one is started. Needs root and /dev/fuse.
 * @throws Error when the daemon does not answer within 30 s
 */
export async function startZfsFuse(): Promise<void> {
  const running = () => Bun.spawnSync(["pgrep", "-x", "zfs-fuse"]).exitCode === 0;
  const answers = () => Bun.spawnSync(["zpool", "list"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
  const start = () =>
    step("zfs-fuse: starting the daemon", async () => {
      // A pid file left by a dead zfs-fuse makes the new one refuse to start.
      if (existsSync("/run/zfs-fuse.pid")) rmSync("/run/zfs-fuse.pid");
      await run(["zfs-fuse", "--pidfile", "/run/zfs-fuse.pid"]);
    });
  if (running()) step("zfs-fuse: running");
  else await start();
  const deadline = Date.now() + 30_000;
  while (!answers()) {
    if (Date.now() > deadline) throw new Error("zfs-fuse: `zpool list` did not answer within 30 s");
    if (!running()) await start();
    await Bun.sleep(250);
  }
}

/** Runs argv to the end; a failure throws with the last lines of its output. */
export async function run(argv: readonly string[], env?: Record<string, string | undefined>): Promise<string> {
  await using proc = Bun.spawn([...argv], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env });
  const [stdout, stderr, code] = await Promise.all([proc.stdout.text(), proc.stderr.text(), proc.exited]);
  if (code !== 0) {
    const tail = `${stdout}\n${stderr}`.trim().split("\n").slice(-15).join("\n");
    throw new Error(`${argv.join(" ")} exited ${code}:\n${tail}`);
  }
  return stdout;
}
