/**
 * `connect = { type = "local" }` serves the stdinserver inside the job's own process (over two
 * kernel pipes, the same wire and ACL as `zferry stdinserver`): the CLI as a subprocess, the fake
 * OpenZFS `zfs` on both sides.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { FAKE_ZFS_PATH, type FakeZfs } from "./fake-zfs/fixture.ts";
import { localJobMachine } from "./helpers/local-job.ts";

const CLI = resolve(import.meta.dir, "../src/cli.ts");

describe("local connect", () => {
  test("a pull and a push run with one zfs probe for both sides, and the server's lines only at debug", async () => {
    using m = localJobMachine({ datasets: ["tank/src@s1", "backup/pull", "backup/sink"], extra: `[log]\nlevel = "info"\n` });
    const pull = await m.zferry(["pull", "p"]);
    expect({ exitCode: pull.exitCode, stderr: pull.stderr }).toEqual({ exitCode: 0, stderr: "" });
    const push = await m.zferry(["push", "up"]);
    expect({ exitCode: push.exitCode, stderr: push.stderr }).toEqual({ exitCode: 0, stderr: "" });
    // zfs without arguments is the capability probe: once per process, so once per run.
    expect(m.fake.calls().filter((argv) => argv.length === 0)).toHaveLength(2);
    expect(Object.keys(m.fake.state().datasets["backup/pull/tank/src"]!.snapshots)).toEqual(["s1"]);
    expect(Object.keys(m.fake.state().datasets["backup/sink/tank/src"]!.snapshots)).toEqual(["s1"]);

    const debug = await m.zferry(["pull", "p"], { ZFERRY_LOG_LEVEL: "debug" });
    expect(debug.exitCode).toBe(0);
    expect(debug.stderr).toMatch(/ DEBUG \[local stdinserver b1\] request=[0-9a-f]{12} identity="b1" endpoint=list_tree .*status=ok\n/);
  }, 60_000);

  test("SIGTERM in mid-transfer: the run stops, and its zfs send and receive are gone when it exits", async () => {
    // 4 MiB into a receiver reading 1 MiB/s: the transfer is in flight for about 4 s.
    using m = localJobMachine({ datasets: ["tank/src@s1", "backup/pull"], env: { FAKE_ZFS_SEND_BYTES: String(4 << 20), FAKE_ZFS_RECV_RATE: String(1 << 20) } });
    const { ZFERRY_LOCK_DIR: _, ...inherited } = process.env;
    await using run = Bun.spawn([process.execPath, CLI, "pull", "p", "--config", m.file], { stdout: "pipe", stderr: "pipe", env: { ...inherited, NO_COLOR: "1" } });
    const inFlight = () => m.fake.calls().some((argv) => argv[0] === "receive") && fakeProcesses(m.fake).length >= 2;
    for (const deadline = Date.now() + 20_000; !inFlight(); await Bun.sleep(10)) {
      if (Date.now() > deadline) throw new Error("the transfer never started");
    }
    run.kill("SIGTERM");
    const [stderr, exitCode] = await Promise.all([run.stderr.text(), run.exited]);
    expect(exitCode).toBe(1);
    expect(stderr).toContain("zferry: pull p: SIGTERM: stopping after cleaning up");
    expect(fakeProcesses(m.fake)).toEqual([]);
  }, 60_000);
});

/** The fake's processes of this machine (its wrapper execs the fake with the state in its environment). */
function fakeProcesses(fake: FakeZfs): number[] {
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(FAKE_ZFS_PATH) && readFileSync(`/proc/${pid}/environ`, "utf8").includes(fake.statePath);
      } catch {
        return false;
      }
    })
    .map(Number);
}
