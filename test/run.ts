/**
 * `npm test`: provisions what the suite needs on this machine, boots the OpenZFS guest beside the
 * run, runs `bun test` (arguments pass through), then reports the OpenZFS tier and stops the guest.
 *
 *   npm test                              everything, OpenZFS included
 *   npm test -- test/openzfs-pull.test.ts one file
 *   ZFERRY_TEST_OPENZFS=0 npm test        without the OpenZFS tier (a quick local run)
 *
 * The guest boots while the rest of the suite runs; OpenZFS tests wait for it. A guest that cannot
 * be built or booted fails those tests with the reason (they never skip silently).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { provisionHost } from "./provision/host.ts";
import { step } from "./provision/step.ts";
import { HANDOFF_ENV, OPENZFS_TIER, REPO, type Handoff } from "./openzfs/guest.ts";
import { cachedImage, ensureImage, type GuestImage } from "./openzfs/guest-image.ts";
import { bootGuest, type RunningGuest } from "./openzfs/guest-vm.ts";

const TEST_TIMEOUT_MS = "60000";

try {
  await provisionHost({ openzfs: OPENZFS_TIER });
} catch (error) {
  process.stderr.write(`test setup failed: ${(error as Error).message}\n`);
  process.exit(1);
}

const handoff = `/var/tmp/zferry-test-handoff-${process.pid}.json`;
let guest: Promise<RunningGuest | undefined> = Promise.resolve(undefined);
if (OPENZFS_TIER) {
  // A first build takes minutes and uses both cores: it runs before the suite; booting runs beside it.
  const image = await buildImage();
  guest = image ? bootBeside(image) : Promise.resolve(undefined);
} else {
  step("OpenZFS tier off (ZFERRY_TEST_OPENZFS=0): only zfs-fuse and the fake zfs");
}

const code = await runBunTest();
const running = await guest;
if (running) {
  const ran = existsSync(`${handoff}.ran`) ? readFileSync(`${handoff}.ran`, "utf8").split("\n").filter(Boolean).length : 0;
  process.stderr.write(`\nOpenZFS tier: ${running.state.zfsVersion} in the guest; ${ran} OpenZFS tests ran\n`);
  await running.stop();
}
rmSync(handoff, { force: true });
rmSync(`${handoff}.ran`, { force: true });
process.exit(code);

async function buildImage(): Promise<GuestImage | undefined> {
  try {
    const fresh = !cachedImage();
    return await step(
      fresh ? "OpenZFS guest: building the image (first run on this machine: about 10 minutes)" : "OpenZFS guest: image cached",
      () => ensureImage(`/var/tmp/zferry-guest-build.log`),
    );
  } catch (error) {
    fail(error);
    return undefined;
  }
}

async function bootBeside(image: GuestImage): Promise<RunningGuest | undefined> {
  try {
    const running = await bootGuest(image, { repo: REPO, progress: (line) => step(`OpenZFS guest: ${line}`) });
    hand({ ok: true, state: running.state });
    return running;
  } catch (error) {
    fail(error);
    return undefined;
  }
}

/** Tells the OpenZFS tests why there is no guest; each of them fails with it. */
function fail(error: unknown): void {
  const reason = (error as Error).message;
  process.stderr.write(`test setup: OpenZFS guest: ${reason}\n`);
  hand({ ok: false, reason: reason.split("\n")[0]! });
}

function hand(value: Handoff): void {
  writeFileSync(`${handoff}.tmp`, JSON.stringify(value));
  // Renamed into place, so a test never reads half a file.
  Bun.spawnSync(["mv", `${handoff}.tmp`, handoff]);
}

async function runBunTest(): Promise<number> {
  const proc = Bun.spawn([process.execPath, "test", "--timeout", TEST_TIMEOUT_MS, ...process.argv.slice(2)], {
    cwd: REPO,
    stdio: ["inherit", "inherit", "inherit"],
    env: { ...process.env, [HANDOFF_ENV]: handoff },
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      proc.kill(signal);
      void guest.then((g) => g?.stop()).finally(() => process.exit(130));
    });
  }
  return proc.exited;
}
