/**
 * contrib/systemd: the service and timer templates pass `systemd-analyze verify` without a word.
 * verify prints unknown keys and bad values as warnings and still exits 0, so any output fails.
 * It runs without a booted systemd, but checks that ExecStart's binary exists: the test renders
 * a copy of the service whose ExecStart is this checkout's `bun src/cli.ts`.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const UNITS = resolve(import.meta.dir, "../contrib/systemd");
const CLI = resolve(import.meta.dir, "../src/cli.ts");
const ANALYZE = "/usr/bin/systemd-analyze";
const INSTALLED = "/usr/local/bin/zferry";

const dir = mkdtempSync(join(tmpdir(), "zferry-units-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function render(name: string, replace: (text: string) => string = (t) => t): string {
  writeFileSync(join(dir, name), replace(readFileSync(join(UNITS, name), "utf8")));
  return join(dir, name.replace("@.", "@prod."));
}

async function verify(...units: string[]): Promise<{ exitCode: number; output: string }> {
  // SYSTEMD_LOG_COLOR=0: plain text, so a failure message is readable.
  const proc = Bun.spawn([ANALYZE, "verify", "--man=no", ...units], { stdout: "pipe", stderr: "pipe", env: { ...process.env, SYSTEMD_LOG_COLOR: "0" } });
  const [stdout, stderr, exitCode] = await Promise.all([proc.stdout.text(), proc.stderr.text(), proc.exited]);
  return { exitCode, output: stdout + stderr };
}

test("zferry-run@.service runs `zferry run JOB` once, with the job as the instance", () => {
  const unit = readFileSync(join(UNITS, "zferry-run@.service"), "utf8");
  expect(unit).toContain(`\nExecStart=${INSTALLED} run %i\n`);
  expect(unit).toContain("\nType=oneshot\n");
  expect(unit).toContain("\nSuccessExitStatus=75\n");
  expect(unit).toContain("\nRuntimeDirectory=zferry\n");
});

test.skipIf(!existsSync(ANALYZE))("systemd-analyze verify accepts zferry-run@.service and zferry-run@.timer and prints nothing", async () => {
  const service = render("zferry-run@.service", (t) => t.replace(`ExecStart=${INSTALLED} `, `ExecStart=${process.execPath} ${CLI} `));
  const timer = render("zferry-run@.timer");
  expect(await verify(service, timer)).toEqual({ exitCode: 0, output: "" });
});

test.skipIf(!existsSync(ANALYZE))("the check would catch a mistake: verify prints an unknown key", async () => {
  const service = render("zferry-run@.service", (t) => `${t.replace(`ExecStart=${INSTALLED} `, `ExecStart=${process.execPath} ${CLI} `)}ProtectSytem=strict\n`);
  expect((await verify(service)).output).toContain("Unknown key 'ProtectSytem'");
});
