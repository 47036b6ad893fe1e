/**
 * Real OpenZFS for tests: the guest that `npm test` boots once per run (see `test/run.ts`), or,
 * when a test file runs on its own (`bun test test/openzfs-….test.ts`), one this process boots and
 * stops. `ZFERRY_TEST_OPENZFS=0` turns the tier off; otherwise a guest that cannot be had fails each
 * OpenZFS test with the reason, it never skips.
 *
 *     describeOpenZfs("pull", () => {
 *       test("initial", async () => {
 *         const g = await openzfs();
 *         await g.sh("zfs create zsrc/a");
 *       });
 *     });
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterEach, beforeAll, describe } from "bun:test";
import { provisionHost } from "../provision/host.ts";
import { ensureImage } from "./guest-image.ts";
import { bootGuest, shellQuote, type GuestState } from "./guest-vm.ts";

export { shellQuote, type GuestState };

export const REPO = resolve(import.meta.dir, "../..");
/**
 * Per-test time limit for OpenZFS tests (`setDefaultTimeout` in each file): under emulation one
 * zferry run costs 5-20 s, and an interrupted transfer and its resume about a minute and a half.
 */
export const OPENZFS_TEST_TIMEOUT_MS = 300_000;
/** False when `ZFERRY_TEST_OPENZFS=0`. */
export const OPENZFS_TIER = process.env.ZFERRY_TEST_OPENZFS !== "0";
/** Where `test/run.ts` hands the booted guest to the test process. */
export const HANDOFF_ENV = "ZFERRY_TEST_GUEST_HANDOFF";

export type Handoff = { readonly ok: true; readonly state: GuestState } | { readonly ok: false; readonly reason: string };

export interface GuestRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Guest {
  readonly state: GuestState;
  /**
   * This checkout's code on the guest's own disk (src/, test/, the runtime node_modules), with
   * `bun` beside it: under emulation, reading hundreds of small files over the 9p share costs 5–15 s
   * per start, from the local copy about 1 s.
   */
  readonly checkout: string;
  /** Runs a bash script in the guest to its end. */
  run(script: string, options?: { stdin?: string | Uint8Array }): Promise<GuestRun>;
  /** Runs a bash script in the guest; a non-zero exit throws with its stderr. */
  sh(script: string): Promise<string>;
  /** Starts a bash script in the guest without waiting for it. */
  spawn(script: string): Bun.Subprocess<"ignore", "pipe", "pipe">;
}

/** Like `describe`, for tests that need the OpenZFS guest; off (and said so) with `ZFERRY_TEST_OPENZFS=0`. */
export function describeOpenZfs(name: string, fn: () => void): void {
  if (!OPENZFS_TIER) {
    describe.skip(`${name} (OpenZFS tier off: ZFERRY_TEST_OPENZFS=0)`, fn);
    return;
  }
  describe(`OpenZFS: ${name}`, () => {
    // The guest may still be booting: wait for it here, not inside the first test's time limit.
    beforeAll(() => openzfs().then(() => undefined), GUEST_WAIT_MS);
    afterEach(countRan);
    fn();
  });
}

/** How long a test file waits for the guest to boot (it boots beside the rest of the suite). */
const GUEST_WAIT_MS = 600_000;

let pending: Promise<Guest> | undefined;

/**
 * The guest, once it is up.
 * @throws Error naming why no guest could be had (the test fails, it does not skip)
 */
export function openzfs(): Promise<Guest> {
  pending ??= attachOrBoot();
  return pending;
}

// --- internal ---

/** One line per OpenZFS test that ran, for the run's closing report. */
function countRan(): void {
  const handoff = process.env[HANDOFF_ENV];
  if (handoff) appendFileSync(`${handoff}.ran`, "1\n");
}

async function attachOrBoot(): Promise<Guest> {
  const handoff = process.env[HANDOFF_ENV];
  if (handoff) return staged(await waitForHandoff(handoff));
  // Run on its own: provision and boot for this process only.
  await provisionHost();
  const image = await ensureImage(`/var/tmp/zferry-guest-build-${process.pid}.log`);
  const running = await bootGuest(image, { repo: REPO, progress: (line) => process.stderr.write(`openzfs guest: ${line}\n`) });
  process.once("exit", () => {
    const pid = Number(readFileSync(`${running.state.runDir}/qemu.pid`, "utf8"));
    if (pid) process.kill(pid, "SIGKILL");
  });
  return staged(running.state);
}

/** What a test process copies into the guest: the code zferry and the test fixtures run. */
const STAGED = ["package.json", "bunfig.toml", "tsconfig.json", "src", "test/fixtures", "test/fake-zfs", "node_modules"];
/** Not needed to run zferry (bun itself is copied from the share, one large file read sequentially). */
const NOT_STAGED = ["node_modules/bun", "node_modules/@oven", "node_modules/typescript", "node_modules/bun-types", "node_modules/@types", "node_modules/.bin"];

/** Copies the checkout (a few MB, through ssh) and bun (through the share) to `/opt/zferry-<pid>` in the guest. */
async function staged(state: GuestState): Promise<Guest> {
  if (!process.execPath.startsWith(`${REPO}/`)) {
    throw new Error(`OpenZFS tests copy the checkout's bun into the guest; ${process.execPath} is outside ${REPO} (run them with npm test)`);
  }
  const checkout = `/opt/zferry-${process.pid}`;
  const tar = Bun.spawn(["tar", "-cf", "-", ...NOT_STAGED.map((p) => `--exclude=${p}`), ...STAGED], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
  const untar = `rm -rf ${checkout} && mkdir -p ${checkout} && tar -xf - -C ${checkout} && cp ${shellQuote(process.execPath)} ${checkout}/bun`;
  await using copy = Bun.spawn([...state.ssh, "--", untar], { stdin: tar.stdout, stdout: "ignore", stderr: "pipe" });
  const [code, stderr, tarCode] = await Promise.all([copy.exited, copy.stderr.text(), tar.exited]);
  if (code !== 0 || tarCode !== 0) throw new Error(`copying the checkout into the OpenZFS guest failed: ${stderr.trim() || `tar exited ${tarCode}`}`);
  // Nothing to remove afterwards: the guest's root is a snapshot, gone when the run stops it.
  return guestFrom(state, checkout);
}

async function waitForHandoff(path: string): Promise<GuestState> {
  for (;;) {
    if (existsSync(path)) {
      const handoff = JSON.parse(readFileSync(path, "utf8")) as Handoff;
      if (!handoff.ok) throw new Error(`no OpenZFS guest: ${handoff.reason}`);
      return handoff.state;
    }
    await Bun.sleep(200);
  }
}

function guestFrom(state: GuestState, checkout: string): Guest {
  const argv = (script: string): string[] => [...state.ssh, "--", `bash -c ${shellQuote(script)}`];
  return {
    state,
    checkout,
    async run(script, options = {}) {
      await using proc = Bun.spawn(argv(script), {
        stdin: options.stdin === undefined ? "ignore" : new Blob([options.stdin]),
        stdout: "pipe",
        stderr: "pipe",
      });
      const [stdout, stderr, exitCode] = await Promise.all([proc.stdout.text(), proc.stderr.text(), proc.exited]);
      return { exitCode, stdout, stderr };
    },
    async sh(script) {
      const out = await this.run(script);
      if (out.exitCode !== 0) throw new Error(`in the guest: ${script}\nexit ${out.exitCode}: ${out.stderr.trim()}`);
      return out.stdout;
    },
    spawn(script) {
      return Bun.spawn(argv(script), { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    },
  };
}
