/**
 * `npm run demo` is the README's first command: it must keep working as the code under it moves
 * (it once failed when local connect began to need the in-process server registered).
 */
import { expect, test } from "bun:test";

test("npm run demo: an initial and an incremental pull on zfs-fuse, every file matching the source, the pools removed", async () => {
  const demo = Bun.spawn([process.execPath, "demo/demo.ts"], { cwd: `${import.meta.dir}/..`, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([demo.stdout.text(), demo.stderr.text(), demo.exited]);
  // On failure the demo's own words say why.
  expect({ code, output: code === 0 ? "" : `${stdout}${stderr}` }).toEqual({ code: 0, output: "" });
  expect(stdout).toMatch(/files in 4 filesystems: every SHA-256 matches the source/);
  expect(stdout).toMatch(/initial pull: .* MiB\/s/);
  expect(stdout).toMatch(/incremental pull: .* MiB\/s/);
  expect(stdout).toMatch(/destroyed pool zfdemo_src_/);
}, 120_000);
