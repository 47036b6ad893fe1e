/**
 * The OpenZFS guest's image, built once per machine and cached under
 * `/var/cache/zferry-test/guest-<hash>/` (or `$ZFERRY_TEST_CACHE`). The hash covers the build
 * scripts, so changing them builds a new image; older images are removed once a new one exists.
 * Two test runs that start together build it once (flock).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

export const GUEST_SOURCES = join(import.meta.dir, "guest");
const INPUTS = ["build.sh", "customize.sh", "sysinit.sh"];

/** The files of a built image. */
export interface GuestImage {
  readonly dir: string;
  readonly kernel: string;
  readonly initrd: string;
  readonly root: string;
  /** The harness's private key for root in the guest. */
  readonly controlKey: string;
  /** The guest sshd's ed25519 host key, "type base64". */
  readonly hostKey: string;
  /** e.g. "zfsutils-linux 2.3.2-2~bpo12+1 kernel 6.1.0-…" */
  readonly version: string;
}

export function cacheRoot(): string {
  return process.env.ZFERRY_TEST_CACHE || "/var/cache/zferry-test";
}

/** Where the image for the current build scripts lives (whether or not it is built). */
export function imageDir(): string {
  const hash = createHash("sha256");
  for (const name of INPUTS) hash.update(name).update("\0").update(readFileSync(join(GUEST_SOURCES, name))).update("\0");
  return join(cacheRoot(), `guest-${hash.digest("hex").slice(0, 12)}`);
}

/** The cached image, or undefined when it is not built yet. */
export function cachedImage(): GuestImage | undefined {
  const dir = imageDir();
  return existsSync(join(dir, "root.img")) ? imageAt(dir) : undefined;
}

/**
 * Returns the cached image, building it first when it is missing (about 10 minutes; its output goes
 * to `log`, a file path, and the last lines of it into the error when it fails).
 */
export async function ensureImage(log: string): Promise<GuestImage> {
  const ready = cachedImage();
  if (ready) return ready;
  const dir = imageDir();
  const root = cacheRoot();
  Bun.spawnSync(["mkdir", "-p", root]);
  const script = `[ -e ${JSON.stringify(join(dir, "root.img"))} ] || { rm -rf ${JSON.stringify(dir)}; exec bash ${JSON.stringify(join(GUEST_SOURCES, "build.sh"))} ${JSON.stringify(dir)}; }`;
  await using proc = Bun.spawn(["flock", join(root, ".build.lock"), "bash", "-c", script], {
    stdin: "ignore",
    stdout: Bun.file(log),
    stderr: "pipe",
  });
  const [stderr, code] = await Promise.all([proc.stderr.text(), proc.exited]);
  if (code !== 0) {
    const tail = `${safeRead(log)}\n${stderr}`.trim().split("\n").slice(-12).join("\n");
    throw new Error(`building the OpenZFS guest failed (exit ${code}; whole log: ${log}):\n${tail}`);
  }
  removeOlderImages(dir);
  return imageAt(dir);
}

// --- internal ---

function imageAt(dir: string): GuestImage {
  return {
    dir,
    kernel: join(dir, "vmlinuz"),
    initrd: join(dir, "initrd.img"),
    root: join(dir, "root.img"),
    controlKey: join(dir, "control_ed25519"),
    hostKey: readFileSync(join(dir, "known_host_key"), "utf8").trim(),
    version: readFileSync(join(dir, "version"), "utf8").trim(),
  };
}

function removeOlderImages(keep: string): void {
  for (const entry of readdirSync(cacheRoot())) {
    const path = join(cacheRoot(), entry);
    if (entry.startsWith("guest-") && path !== keep && !entry.includes(".build.")) rmSync(path, { recursive: true, force: true });
  }
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
