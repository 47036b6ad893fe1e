/**
 * The demo's contact with the machine: run a command, make sure zfs-fuse is installed and its
 * daemon answers, make and destroy file-backed pools.
 */

/** Runs argv (no shell) and returns stdout; throws with stderr on a non-zero exit. */
export async function sh(argv: string[], options: { quiet?: boolean } = {}): Promise<string> {
  await using proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, LC_ALL: "C", DEBIAN_FRONTEND: "noninteractive" } });
  const [out, err, code] = await Promise.all([proc.stdout.text(), proc.stderr.text(), proc.exited]);
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}${options.quiet ? "" : `: ${err.trim().split("\n").slice(-3).join(" / ")}`}`);
  return out;
}

/**
 * Installs zfs-fuse with apt-get when it is missing and starts its daemon when zpool does not
 * answer. Returns what it did, for the demo's output.
 * @throws Error saying what is missing when that cannot be fixed here
 */
export async function ensureZfsFuse(say: (line: string) => void): Promise<void> {
  if (!Bun.which("zfs-fuse") || !Bun.which("zfs") || !Bun.which("zpool")) {
    if (!Bun.which("apt-get")) throw new Error("zfs-fuse is not installed and there is no apt-get to install it; install zfs-fuse and run the demo again");
    say("zfs-fuse is missing: apt-get install -y zfs-fuse");
    try {
      await sh(["apt-get", "install", "-y", "zfs-fuse"]);
    } catch {
      await sh(["apt-get", "update"]); // a fresh container has no package lists yet
      await sh(["apt-get", "install", "-y", "zfs-fuse"]);
    }
  }
  if (await zpoolAnswers()) return;
  say("starting the zfs-fuse daemon");
  await sh(["zfs-fuse"]); // daemonizes; the parent returns once the daemon is forked
  const deadline = Date.now() + 15_000;
  while (!(await zpoolAnswers())) {
    if (Date.now() > deadline) throw new Error("zfs-fuse started but zpool does not answer within 15 s (is /dev/fuse available?)");
    await Bun.sleep(100); // the daemon gives no readiness signal
  }
}

/** Creates `name` on a sparse file in `dir`, mounting nothing (`-m none`). */
export async function createPool(name: string, file: string): Promise<void> {
  await sh(["truncate", "-s", "512M", file]);
  await sh(["zpool", "create", "-m", "none", name, file]);
}

/** Destroys a pool, unmounting stubborn FUSE mounts first if zfs-fuse says "busy". */
export async function destroyPool(name: string): Promise<void> {
  try {
    await sh(["zpool", "destroy", "-f", name], { quiet: true });
  } catch {
    const datasets = await sh(["zfs", "list", "-H", "-o", "name", "-r", name]).catch(() => "");
    for (const ds of datasets.split("\n").filter(Boolean).reverse()) await sh(["zfs", "unmount", "-f", ds], { quiet: true }).catch(() => {});
    await sh(["zpool", "destroy", "-f", name]);
  }
}

async function zpoolAnswers(): Promise<boolean> {
  try {
    await sh(["zpool", "list", "-H", "-o", "name"], { quiet: true });
    return true;
  } catch {
    return false;
  }
}
