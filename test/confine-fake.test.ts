/**
 * Confinement where zfs can do it in the receive (OpenZFS: `zfs receive -u -x … -o …`), against
 * the fake OpenZFS on both sides: a property stream from a dataset with mountpoint=/etc/cron.d,
 * setuid=on, exec=on and sharenfs=on lands with none of them, in one atomic receive; a receiving
 * side's `receive.keep` lets the named ones through.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { memoryOutput, runPull, runPush, useLocalServer } from "../src/client/index.ts";
import { loadConfig, type PullJobConfig, type PushJobConfig } from "../src/config/index.ts";
import { serveInProcess } from "../src/server/index.ts";
import { createFakeZfs, type FakeZfs } from "./fake-zfs/fixture.ts";

// Local connect serves its stdinserver in this process, as the CLI's job commands arrange.
useLocalServer(serveInProcess);

let fake: FakeZfs | null = null;
afterEach(() => {
  fake?.[Symbol.dispose]();
  fake = null;
});

const HOSTILE = ["mountpoint=/etc/cron.d", "setuid=on", "exec=on", "sharenfs=on", "compression=on"];
const CONFINE = ["-u", "-x", "mountpoint", "-x", "sharenfs", "-x", "sharesmb", "-o", "setuid=off", "-o", "devices=off", "-o", "exec=off", "-o", "readonly=on"];

function setup(options: { pullKeep?: string; clientKeep?: string } = {}) {
  fake = createFakeZfs({ datasets: ["tank/src@s1", "backup/pull", "backup/sink"] });
  for (const prop of HOSTILE) Bun.spawnSync([fake.bin, "set", prop, "tank/src"]);
  const file = join(fake.dir, "zferry.toml");
  writeFileSync(
    file,
    `[zfs]
bin = ${JSON.stringify(fake.bin)}

[clients.b1]
filesystems = { "tank/src<" = true }
receive_root = "backup/sink"
send_flags = ["properties"]
${options.clientKeep ? `receive = { keep = ${options.clientKeep} }` : ""}

[jobs.pull]
type = "pull"
connect = { type = "local", identity = "b1" }
root = "backup/pull"
send = { properties = true }
${options.pullKeep ? `receive = { keep = ${options.pullKeep} }` : ""}

[jobs.push]
type = "push"
connect = { type = "local", identity = "b1" }
filesystems = { "tank/src<" = true }
send = { properties = true }
`,
  );
  const config = loadConfig(file);
  return { fake, config, pull: config.jobs.pull as PullJobConfig, push: config.jobs.push as PushJobConfig };
}

/** property → "value source" of one dataset, as `zfs get` prints them. */
function props(fake: FakeZfs, dataset: string): Record<string, string> {
  const out = Bun.spawnSync([fake.bin, "get", "-H", "-o", "property,value,source", "mountpoint,setuid,exec,devices,sharenfs,readonly,compression", dataset]);
  return Object.fromEntries(out.stdout.toString().trim().split("\n").map((line) => {
    const [p, v, s] = line.split("\t");
    return [p, `${v} ${s}`];
  }));
}

describe("a property stream is confined by the receive itself (fake OpenZFS)", () => {
  test("pull and push receive with -u -x -o: the stream's mountpoint, setuid, exec and sharenfs never take effect", async () => {
    const { fake, config, pull, push } = setup();
    const before = fake.calls().length;
    expect((await runPull(config, pull, { output: memoryOutput() })).outcomes).toMatchObject([{ status: "done" }]);
    expect((await runPush(config, push, { output: memoryOutput() })).outcomes).toMatchObject([{ status: "done" }]);
    const receives = fake.calls().filter((c) => c[0] === "receive");
    expect(receives).toEqual([
      ["receive", "-s", ...CONFINE, "backup/pull/tank/src@s1"],
      ["receive", "-s", ...CONFINE, "backup/sink/tank/src@s1"],
    ]);
    expect(fake.calls().slice(before).filter((c) => c[0] === "set" || c[0] === "inherit")).toEqual([]); // nothing after the receive
    for (const target of ["backup/pull/tank/src", "backup/sink/tank/src"]) {
      expect({ target, props: props(fake, target) }).toEqual({
        target,
        props: {
          mountpoint: `none inherited from ${target.slice(0, target.lastIndexOf("/"))}`, // its placeholder parent's
          setuid: "off local",
          exec: "off local",
          devices: "off local",
          sharenfs: "off default",
          readonly: "on local",
          compression: "on received", // not confined: the stream keeps it
        },
      });
    }
  });

  test("receive.keep names the confined properties the stream may set, on either side", async () => {
    const { fake, config, pull, push } = setup({ pullKeep: '["exec", "mountpoint"]', clientKeep: '["setuid"]' });
    expect((await runPull(config, pull, { output: memoryOutput() })).outcomes).toMatchObject([{ status: "done" }]);
    expect((await runPush(config, push, { output: memoryOutput() })).outcomes).toMatchObject([{ status: "done" }]);
    const receives = fake.calls().filter((c) => c[0] === "receive");
    expect(receives).toEqual([
      ["receive", "-s", "-u", "-x", "sharenfs", "-x", "sharesmb", "-o", "setuid=off", "-o", "devices=off", "-o", "readonly=on", "backup/pull/tank/src@s1"],
      ["receive", "-s", "-u", "-x", "mountpoint", "-x", "sharenfs", "-x", "sharesmb", "-o", "devices=off", "-o", "exec=off", "-o", "readonly=on", "backup/sink/tank/src@s1"],
    ]);
    expect(props(fake, "backup/pull/tank/src")).toMatchObject({ mountpoint: "/etc/cron.d received", exec: "on received", setuid: "off local" });
    expect(props(fake, "backup/sink/tank/src")).toMatchObject({ mountpoint: "none inherited from backup/sink/tank", setuid: "on received", exec: "off local" });
  });
});

describe("a new dataset from a stream without properties (fake OpenZFS)", () => {
  const FORCED = ["-o", "setuid=off", "-o", "devices=off", "-o", "exec=off", "-o", "readonly=on"];

  function plainSetup(options: { compression?: boolean } = {}) {
    fake = createFakeZfs({ datasets: ["tank/src@s1", "backup/pull", "backup/sink"] });
    const file = join(fake.dir, "zferry.toml");
    writeFileSync(
      file,
      `[zfs]\nbin = ${JSON.stringify(fake.bin)}\n[clients.b1]\nfilesystems = { "tank/src<" = true }\nreceive_root = "backup/sink"\n` +
        `[jobs.pull]\ntype = "pull"\nconnect = { type = "local", identity = "b1" }\nroot = "backup/pull"\n${options.compression ? 'compression = "zstd"\n' : ""}` +
        `[jobs.push]\ntype = "push"\nconnect = { type = "local", identity = "b1" }\nfilesystems = { "tank/src<" = true }\n${options.compression ? 'compression = "zstd"\n' : ""}`,
    );
    const config = loadConfig(file);
    return { fake, config, pull: config.jobs.pull as PullJobConfig, push: config.jobs.push as PushJobConfig };
  }

  test("is received with -o alone: -x, which cost OpenZFS a dataset open, has nothing to keep out, and the result is the same", async () => {
    const { fake, config, pull, push } = plainSetup();
    expect((await runPull(config, pull, { output: memoryOutput() })).outcomes).toMatchObject([{ status: "done" }]);
    expect((await runPush(config, push, { output: memoryOutput() })).outcomes).toMatchObject([{ status: "done" }]);
    expect(fake.calls().filter((c) => c[0] === "receive")).toEqual([
      ["receive", "-s", "-u", ...FORCED, "backup/pull/tank/src@s1"],
      ["receive", "-s", "-u", ...FORCED, "backup/sink/tank/src@s1"],
    ]);
    expect(fake.calls().filter((c) => c[0] === "set" || c[0] === "inherit")).toEqual([]);
    for (const target of ["backup/pull/tank/src", "backup/sink/tank/src"]) {
      expect(props(fake, target)).toMatchObject({ mountpoint: expect.stringContaining("inherited"), setuid: "off local", exec: "off local", devices: "off local", readonly: "on local" });
    }
  });

  for (const compression of [false, true]) {
    test(`a sender that slips properties into it has them kept out all the same: the receive gets -x before it reads a byte${compression ? " (zstd on the wire)" : ""}`, async () => {
      if (compression && !Bun.which("zstd")) return void console.warn("skipped: needs zstd");
      const { fake, config, pull, push } = plainSetup({ compression });
      for (const prop of HOSTILE) Bun.spawnSync([fake.bin, "set", prop, "tank/src"]);
      fake.setEnv({ FAKE_ZFS_SEND_PROPS: "1" }); // both sides' zfs send add them, whatever they were asked
      expect((await runPull(config, pull, { output: memoryOutput() })).outcomes).toMatchObject([{ status: "done" }]);
      expect((await runPush(config, push, { output: memoryOutput() })).outcomes).toMatchObject([{ status: "done" }]);
      const receives = fake.calls().filter((c) => c[0] === "receive");
      // The uncompressed pull starts its receive beside the send request, for a stream without
      // properties; the first record replaces it before it was fed. The others start after it.
      const replaced = compression ? [] : [["receive", "-s", "-u", ...FORCED, "backup/pull/tank/src@s1"]];
      expect(receives).toEqual([...replaced, ["receive", "-s", ...CONFINE, "backup/pull/tank/src@s1"], ["receive", "-s", ...CONFINE, "backup/sink/tank/src@s1"]]);
      expect(fake.fed()).toEqual(["backup/pull/tank/src@s1", "backup/sink/tank/src@s1"]);
      for (const target of ["backup/pull/tank/src", "backup/sink/tank/src"]) {
        expect(props(fake, target)).toMatchObject({ mountpoint: expect.stringContaining("inherited"), setuid: "off local", exec: "off local", readonly: "on local" });
        expect(props(fake, target).compression).toBe("on received"); // the stream's properties did arrive: only the confined ones were kept out
      }
    });
  }
});

describe("an incremental into a target already confined (fake OpenZFS)", () => {
  function plainSetup() {
    fake = createFakeZfs({ datasets: ["tank/src@s1", "backup/pull"] });
    const file = join(fake.dir, "zferry.toml");
    writeFileSync(file, `[zfs]\nbin = ${JSON.stringify(fake.bin)}\n[clients.b1]\nfilesystems = { "tank/src<" = true }\n[jobs.pull]\ntype = "pull"\nconnect = { type = "local", identity = "b1" }\nroot = "backup/pull"\n`);
    const config = loadConfig(file);
    return { fake, config, pull: config.jobs.pull as PullJobConfig };
  }

  /** The initial pull, `before()` on the source, a new snapshot s2, the next pull: its result and the zfs calls it made. */
  async function nextPull(world: { fake: FakeZfs | null; config: ReturnType<typeof loadConfig>; pull: PullJobConfig }, before = () => {}) {
    const { config, pull } = world;
    const fake = world.fake!;
    expect((await runPull(config, pull, { output: memoryOutput() })).outcomes).toMatchObject([{ status: "done" }]);
    before();
    Bun.spawnSync([fake.bin, "snapshot", "tank/src@s2"]);
    const from = fake.calls().length;
    const result = await runPull(config, pull, { output: memoryOutput() });
    return { result, calls: fake.calls().slice(from) };
  }

  test("is a plain `zfs receive -s -u`: the -x/-o it would repeat cost a receive half again on OpenZFS", async () => {
    const { result, calls: after } = await nextPull(plainSetup());
    expect(result.outcomes).toMatchObject([{ status: "done", snapshots: 1 }]);
    expect(after.filter((c) => c[0] === "receive")).toEqual([["receive", "-s", "-u", "backup/pull/tank/src@s2"]]);
    expect(after.filter((c) => c[0] === "set" || c[0] === "inherit")).toEqual([]);
    expect(props(fake!, "backup/pull/tank/src")).toMatchObject({ readonly: "on local", setuid: "off local", exec: "off local" });
  });

  test("a sender that slips properties into that stream is refused before a byte reaches zfs receive, and nothing changes", async () => {
    const world = plainSetup();
    const { fake } = world;
    const { result } = await nextPull(world, () => {
      for (const prop of HOSTILE) Bun.spawnSync([fake.bin, "set", prop, "tank/src"]);
      fake.setEnv({ FAKE_ZFS_SEND_PROPS: "1" });
    });
    expect(result.outcomes).toMatchObject([{ status: "failed", reason: expect.stringContaining("refused the stream: it carries properties") }]);
    // The receive started beside the send request and was killed before it got a byte.
    expect(fake.fed()).toEqual(["backup/pull/tank/src@s1"]); // the initial pull's only
    expect(Object.keys(fake.state().datasets["backup/pull/tank/src"]!.snapshots)).toEqual(["s1"]);
    expect(props(fake, "backup/pull/tank/src")).toMatchObject({ mountpoint: expect.stringContaining("inherited"), setuid: "off local", exec: "off local", readonly: "on local" });
  });

  test("a job that sends properties keeps -x/-o on every receive", async () => {
    const { result, calls } = await nextPull(setup());
    expect(result.outcomes).toMatchObject([{ status: "done", snapshots: 1 }]);
    expect(calls.filter((c) => c[0] === "receive")).toEqual([["receive", "-s", ...CONFINE, "backup/pull/tank/src@s2"]]);
  });
});

describe("an incremental push into a target already confined (fake OpenZFS)", () => {
  function pushSetup() {
    fake = createFakeZfs({ datasets: ["tank/src@s1", "backup/sink"] });
    const file = join(fake.dir, "zferry.toml");
    writeFileSync(
      file,
      `[zfs]\nbin = ${JSON.stringify(fake.bin)}\n[clients.b1]\nfilesystems = { "tank/src<" = true }\nreceive_root = "backup/sink"\n` +
        `[jobs.push]\ntype = "push"\nconnect = { type = "local", identity = "b1" }\nfilesystems = { "tank/src<" = true }\n`,
    );
    const config = loadConfig(file);
    return { fake, config, push: config.jobs.push as PushJobConfig };
  }

  test("is a plain `zfs receive -s -u`, and the GUID the server reports comes from the stream: nothing runs after the receive", async () => {
    const { fake, config, push } = pushSetup();
    expect((await runPush(config, push, { output: memoryOutput() })).outcomes).toMatchObject([{ status: "done" }]);
    Bun.spawnSync([fake.bin, "snapshot", "tank/src@s2"]);
    const from = fake.calls().length;
    expect((await runPush(config, push, { output: memoryOutput() })).outcomes).toMatchObject([{ status: "done", snapshots: 1 }]);
    const calls = fake.calls().slice(from);
    const receive = calls.findIndex((c) => c[0] === "receive");
    expect(calls[receive]).toEqual(["receive", "-s", "-u", "backup/sink/tank/src@s2"]);
    expect(calls.slice(receive + 1)).toEqual([]);
    expect(props(fake, "backup/sink/tank/src")).toMatchObject({ readonly: "on local", setuid: "off local", exec: "off local", devices: "off local" });
  });

  test("a client that slips properties into that stream is refused before a byte reaches zfs receive, and nothing changes", async () => {
    const { fake, config, push } = pushSetup();
    expect((await runPush(config, push, { output: memoryOutput() })).outcomes).toMatchObject([{ status: "done" }]);
    for (const prop of HOSTILE) Bun.spawnSync([fake.bin, "set", prop, "tank/src"]);
    fake.setEnv({ FAKE_ZFS_SEND_PROPS: "1" }); // the client's own zfs send adds them, whatever it was asked
    Bun.spawnSync([fake.bin, "snapshot", "tank/src@s2"]);
    const result = await runPush(config, push, { output: memoryOutput() });
    expect(result.outcomes).toMatchObject([{ status: "failed", reason: expect.stringContaining("refused the stream: it carries properties") }]);
    expect(fake.fed()).toEqual(["backup/sink/tank/src@s1"]); // the first push's only
    expect(Object.keys(fake.state().datasets["backup/sink/tank/src"]!.snapshots)).toEqual(["s1"]);
    expect(props(fake, "backup/sink/tank/src")).toMatchObject({ mountpoint: expect.stringContaining("inherited"), setuid: "off local", exec: "off local", readonly: "on local" });
  });
});
