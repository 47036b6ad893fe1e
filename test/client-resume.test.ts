/**
 * Resuming interrupted transfers, against the fake OpenZFS `zfs` on both sides (this machine's
 * zfs-fuse has no resume tokens). Both sides share one fake pool state: the client runs in this
 * process, the server is a `local` stdinserver child with the same config (and so the same fake).
 *
 * Pull: the target's own receive_resume_token → `resume_send` (the server validates the token) →
 * `zfs receive -s` → the snapshot is verified by GUID. Push: the server's token from
 * `list_received` is decoded here and must name the pushed dataset before `zfs send -t` runs.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { memoryOutput, runPull, runPush, useLocalServer } from "../src/client/index.ts";
import { loadConfig, type PullJobConfig, type PushJobConfig } from "../src/config/index.ts";
import { serveInProcess } from "../src/server/index.ts";
import { createFakeZfs, type FakeZfs } from "./fake-zfs/fixture.ts";
import type { FakeState } from "./fake-zfs/state.ts";

// Local connect serves its stdinserver in this process, as the CLI's job commands arrange.
useLocalServer(serveInProcess);

let fake: FakeZfs | null = null;
afterEach(() => {
  fake?.[Symbol.dispose]();
  fake = null;
});

function setup(datasets: string[]) {
  fake = createFakeZfs({ datasets });
  const file = join(fake.dir, "zferry.toml");
  writeFileSync(
    file,
    `[zfs]
bin = ${JSON.stringify(fake.bin)}

[clients.b1]
filesystems = { "tank/src<" = true }
receive_root = "backup/sink"

[jobs.pull]
type = "pull"
connect = { type = "local", identity = "b1" }
root = "backup/pull"
initial = "all"

[jobs.push]
type = "push"
connect = { type = "local", identity = "b1" }
filesystems = { "tank/src<" = true }
initial = "all"
`,
  );
  const config = loadConfig(file);
  return { fake, config, pull: config.jobs.pull as PullJobConfig, push: config.jobs.push as PushJobConfig };
}

const guids = (state: FakeState, ds: string) => Object.fromEntries(Object.entries(state.datasets[ds]?.snapshots ?? {}).map(([name, s]) => [name, s.guid]));

/** Runs `send ARGS | receive -s TARGET` on the fake, cut after `cutAfter` bytes: a partial receive. */
async function interruptedTransfer(fake: FakeZfs, sendArgs: string[], target: string, cutAfter: number): Promise<void> {
  fake.setEnv({ FAKE_ZFS_FAIL_AFTER: String(cutAfter) });
  const q = (s: string) => `'${s}'`;
  const proc = Bun.spawn(["sh", "-c", `${q(fake.bin)} send ${sendArgs.map(q).join(" ")} | ${q(fake.bin)} receive -s ${q(target)}`], { stderr: "pipe" });
  const stderr = await proc.stderr.text();
  await proc.exited;
  fake.setEnv({ FAKE_ZFS_FAIL_AFTER: undefined });
  expect(stderr).toContain("Partially received snapshot is saved");
}

describe("pull resumes a partial receive (fake OpenZFS)", () => {
  test("an interrupted initial pull leaves a token; the next run resumes it with resume_send, then goes on", async () => {
    const { fake, config, pull } = setup(["tank/src@s1", "tank/src@s2", "backup/pull", "backup/sink"]);
    const target = "backup/pull/tank/src";

    fake.setEnv({ FAKE_ZFS_FAIL_AFTER: "20000" });
    const out1 = memoryOutput();
    const first = await runPull(config, pull, { output: out1 });
    expect(first.outcomes).toEqual([
      {
        name: "tank/src",
        status: "failed",
        snapshots: 0,
        bytes: 0,
        reason: `receive "${target}@s1": the server's send failed: send "tank/src@s1": zfs exited 1: warning: cannot send 'tank/src@s1': Input/output error [request ${first.outcomes[0]?.requests?.[0]}]`,
        requests: [expect.stringMatching(/^[0-9a-f]{12}$/)],
        elapsedMs: expect.any(Number),
      },
    ]);
    const partial = fake.state().datasets[target]?.partial;
    expect(partial).toMatchObject({ toname: "tank/src@s1", snapname: "s1", newfs: true });
    // A new dataset from a stream without properties: the -o values alone (zfs/confine.ts, needsExclude).
    expect(fake.calls()).toContainEqual(["receive", "-s", "-u", "-o", "setuid=off", "-o", "devices=off", "-o", "exec=off", "-o", "readonly=on", `${target}@s1`]);

    fake.setEnv({ FAKE_ZFS_FAIL_AFTER: undefined });
    const dry = memoryOutput();
    await runPull(config, pull, { output: dry, dryRun: true });
    expect(dry.lines).toContain("tank/src    (resume) → s2 (2 snapshots)  ?"); // the API has no estimate for a resumed send
    expect(dry.lines).toHaveLength(3);

    const callsBefore = fake.calls().length;
    const out2 = memoryOutput();
    const second = await runPull(config, pull, { output: out2 });
    expect(second.outcomes).toMatchObject([{ name: "tank/src", status: "done", snapshots: 2 }]);
    const calls = fake.calls().slice(callsBefore);
    const token = calls.find((c) => c.some((a) => a.includes("receive_resume_token"))) && calls.find((c) => c[0] === "send" && c[1] === "-t")?.[2];
    expect(token).toMatch(/^1-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+$/);
    expect(calls).toContainEqual(["send", "-nvt", token!]); // validated by the server before sending
    expect(calls).toContainEqual(["receive", "-s", "-u", target]); // the resumed stream names its snapshot
    expect(calls).toContainEqual(["receive", "-s", "-u", "-x", "mountpoint", "-x", "sharenfs", "-x", "sharesmb", "-o", "setuid=off", "-o", "devices=off", "-o", "exec=off", "-o", "readonly=on", `${target}@s2`]);
    const state = fake.state();
    expect(state.datasets[target]?.partial).toBeUndefined();
    expect(guids(state, target)).toEqual(guids(state, "tank/src"));
    expect(state.datasets[target]?.props.readonly).toBe("on");
  });

  test("a partial receive of a snapshot the source no longer has is refused with the fix", async () => {
    const { fake, config, pull } = setup(["tank/src@s1", "tank/gone@g1", "backup/pull/tank", "backup/sink"]);
    await interruptedTransfer(fake, ["tank/gone@g1"], "backup/pull/tank/src", 20000);
    const result = await runPull(config, pull, { output: memoryOutput() });
    expect(result.outcomes).toEqual([
      {
        name: "tank/src",
        status: "failed",
        snapshots: 0,
        bytes: 0,
        reason:
          'conflict: the target holds a partial receive of a snapshot the source no longer has (GUID 1005); discard it with "zfs receive -A backup/pull/tank/src" to start that step over',
      },
    ]);
    expect(fake.calls().some((c) => c[0] === "send" && c[1] === "-t")).toBe(false);
  });
});

describe("received datasets are confined by the receive itself (fake OpenZFS, zfs receive -u -x -o)", () => {
  test("a pull and a push confine the target and clear a placeholder in the receive: no zfs set runs", async () => {
    // backup/pull/tank/src is an empty placeholder left by an earlier run: received into with -F.
    const { fake, config, pull, push } = setup(["tank/src@s1", "tank/src@s2", "backup/pull/tank/src", "backup/sink"]);
    Bun.spawnSync([fake.bin, "set", "zferry:placeholder=on", "backup/pull/tank/src"]);
    const before = fake.calls().length;
    expect((await runPull(config, pull, { output: memoryOutput() })).outcomes).toMatchObject([{ status: "done", snapshots: 2 }]);
    expect((await runPush(config, push, { output: memoryOutput() })).outcomes).toMatchObject([{ status: "done", snapshots: 2 }]);
    const calls = fake.calls().slice(before);
    expect(calls).toContainEqual(["receive", "-s", "-u", "-F", "-x", "mountpoint", "-x", "sharenfs", "-x", "sharesmb", "-o", "setuid=off", "-o", "devices=off", "-o", "exec=off", "-o", "readonly=on", "-o", "zferry:placeholder=off", "backup/pull/tank/src@s1"]);
    expect(calls).toContainEqual(["receive", "-s", "-u", "-x", "mountpoint", "-x", "sharenfs", "-x", "sharesmb", "-o", "setuid=off", "-o", "devices=off", "-o", "exec=off", "-o", "readonly=on", "backup/pull/tank/src@s2"]);
    expect(calls.filter((c) => c[0] === "set")).toEqual([]);
    const props = fake.state().datasets;
    const confined = { setuid: "off", devices: "off", exec: "off", readonly: "on" };
    expect(props["backup/pull/tank/src"]?.props).toMatchObject({ ...confined, "zferry:placeholder": "off" });
    expect(props["backup/sink/tank/src"]?.props).toMatchObject(confined);
  });
});

describe("push resumes a partial receive on the server (fake OpenZFS)", () => {
  test("an interrupted incremental push leaves a token on the server; the next push decodes it, sends with zfs send -t and lands with the right GUID", async () => {
    const { fake, config, push } = setup(["tank/src@s1", "backup/sink"]);
    expect((await runPush(config, push, { output: memoryOutput() })).outcomes).toMatchObject([{ status: "done", snapshots: 1 }]);
    Bun.spawnSync([fake.bin, "snapshot", "tank/src@s2"]);
    fake.setEnv({ FAKE_ZFS_FAIL_AFTER: "30000" }); // our local zfs send fails midway
    const failed = await runPush(config, push, { output: memoryOutput() });
    fake.setEnv({ FAKE_ZFS_FAIL_AFTER: undefined });
    expect(failed.outcomes).toMatchObject([{ status: "failed", reason: expect.stringContaining("Input/output error") }]);
    // A plain resumable receive: the target is confined already and an incremental stream keeps it so.
    expect(fake.calls()).toContainEqual(["receive", "-s", "-u", "backup/sink/tank/src@s2"]);
    expect(fake.state().datasets["backup/sink/tank/src"]?.partial).toMatchObject({ toname: "tank/src@s2" });

    const callsBefore = fake.calls().length;
    const result = await runPush(config, push, { output: memoryOutput() });
    expect(result.outcomes).toMatchObject([{ name: "tank/src", status: "done", snapshots: 1 }]);
    const calls = fake.calls().slice(callsBefore);
    const sent = calls.find((c) => c[0] === "send" && c[1] === "-t");
    expect(sent).toBeDefined();
    expect(calls).toContainEqual(["send", "-nvt", sent![2]!]); // decoded by the client first
    const state = fake.state();
    expect(guids(state, "backup/sink/tank/src")).toEqual(guids(state, "tank/src"));
    expect(state.datasets["backup/sink/tank/src"]?.partial).toBeUndefined();
  });

  test("a token that names another dataset is refused and nothing is sent", async () => {
    const { fake, config, push } = setup(["tank/src@s1", "tank/secret@x1", "backup/sink"]);
    expect((await runPush(config, push, { output: memoryOutput() })).outcomes).toMatchObject([{ status: "done" }]);
    Bun.spawnSync([fake.bin, "snapshot", "tank/src@s2"]);
    await interruptedTransfer(fake, ["-i", "tank/src@s1", "tank/src@s2"], "backup/sink/tank/src@s2", 30000);
    // A hostile server rewrites the partial state so the token asks for another dataset.
    const state = fake.state();
    const secret = state.datasets["tank/secret"]!.snapshots.x1!;
    Object.assign(state.datasets["backup/sink/tank/src"]!.partial!, { toname: "tank/secret@x1", toguid: secret.guid });
    fake.setState(state);

    const callsBefore = fake.calls().length;
    const result = await runPush(config, push, { output: memoryOutput() });
    expect(result.outcomes).toMatchObject([{ status: "failed", reason: 'The server\'s resume token for "tank/src" names "tank/secret@x1"; refusing to send it' }]);
    expect(fake.calls().slice(callsBefore).some((c) => c[0] === "send" && c[1] === "-t")).toBe(false);
  });

  test("an interrupted initial push is resumed", async () => {
    const { fake, config, push } = setup(["tank/src@s1", "backup/sink"]);
    fake.setEnv({ FAKE_ZFS_FAIL_AFTER: "20000" });
    await runPush(config, push, { output: memoryOutput() });
    fake.setEnv({ FAKE_ZFS_FAIL_AFTER: undefined });
    expect(fake.state().datasets["backup/sink/tank/src"]?.partial).toMatchObject({ toname: "tank/src@s1", newfs: true });
    const result = await runPush(config, push, { output: memoryOutput() });
    expect(result.outcomes).toMatchObject([{ status: "done", snapshots: 1 }]);
    const state = fake.state();
    expect(guids(state, "backup/sink/tank/src")).toEqual(guids(state, "tank/src"));
  });
});
