/**
 * The zfs layer against the fake OpenZFS 2.2 `zfs` (test/fake-zfs): capability detection, listing,
 * errors, stream children on real pipes, failure tails, kill, and the resumable receive cycle.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ZfsError,
  ZfsNotFoundError,
  ZfsRunner,
  abortResumableReceive,
  datasetExists,
  decodeResumeToken,
  detectCapabilities,
  estimateSendSize,
  getResumeToken,
  listFilesystems,
  listTree,
  listVersions,
  parseDatasetName,
  parseVersionName,
  recvArgv,
  resumeSendArgv,
  runZfs,
  sendArgv,
  startZfsRecv,
  startZfsSend,
  zfsChildError,
  type SendRequest,
} from "../src/zfs/index.ts";
import { closeQuietly } from "../src/sys/pipe.ts";
import { compileFakeZfs, createFakeZfs, type FakeZfs } from "./fake-zfs/fixture.ts";

const PAYLOAD = 64 * 1024;
let fake: FakeZfs;
let runner: ZfsRunner;

beforeAll(() => {
  fake = createFakeZfs({
    datasets: ["tank/src a@s1", "tank/src a@s2", "tank/src a#b2", "tank/src a/child@c1", "tank/src a@s3", "tank/sink", "other"],
  });
  runner = new ZfsRunner({ bin: fake.bin });
});
afterAll(() => fake[Symbol.dispose]());

const ds = parseDatasetName;
const v = parseVersionName;

/** Copies readFd to writeFd until EOF in 1 MiB blocking reads; returns the byte count. */
function pump(readFd: number, writeFd?: number): number {
  const buf = Buffer.allocUnsafe(1 << 20);
  let total = 0;
  for (;;) {
    const n = readSync(readFd, buf, 0, buf.length, null);
    if (n === 0) return total;
    for (let off = 0; writeFd !== undefined && off < n; ) off += writeSync(writeFd, buf, off, n - off);
    total += n;
  }
}

/** send | recv through two zfs children and a copy loop; returns bytes moved and both results. */
async function transfer(send: string[], recv: string[]) {
  const sender = startZfsSend(fake.bin, send);
  const receiver = startZfsRecv(fake.bin, recv);
  let bytes: number;
  try {
    bytes = pump(sender.readFd, receiver.writeFd);
  } finally {
    closeQuietly(sender.readFd);
    closeQuietly(receiver.writeFd);
  }
  return { bytes, send: await sender.done(), recv: await receiver.done() };
}

function pidGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as { code?: string }).code === "ESRCH";
  }
}

describe("detectCapabilities", () => {
  test("finds every OpenZFS feature in the fake's 2.2 usage text", async () => {
    expect(await detectCapabilities(fake.bin)).toEqual({
      listParsable: true, bookmarks: true, sendEstimate: true, resumable: true, raw: true, compressed: true,
      largeBlocks: true, embedded: true, properties: true, recvNoMount: true, recvProperties: true, recvExclude: true, intermediates: true,
    });
    expect(fake.calls()).toEqual([[]]); // one process: the overview has every usage line
  });

  test("asks each subcommand when the overview lacks its usage lines", async () => {
    // A zfs that names its commands without usage in the overview, as a trimmed build might.
    const dir = mkdtempSync(join(tmpdir(), "zferry-usage-"));
    const bin = join(dir, "zfs");
    writeFileSync(
      bin,
      [
        "#!/bin/sh",
        `echo "$*" >> ${dir}/calls`,
        'case "$1" in',
        "  send) printf 'usage:\\n\\tsend [-Rp] [-[iI] snapshot] <snapshot>\\n' >&2;;",
        "  receive) printf 'usage:\\n\\treceive [-vnFu] <filesystem|volume|snapshot>\\n' >&2;;",
        "  list) printf 'usage:\\n\\tlist [-rH] [-o property[,...]]\\n' >&2;;",
        "  *) printf 'usage: zfs command args ...\\n\\tsend\\n\\treceive\\n\\tlist\\n' >&2;;",
        "esac",
        "exit 2",
        "",
      ].join("\n"),
    );
    chmodSync(bin, 0o755);
    try {
      const caps = await detectCapabilities(bin);
      expect(caps).toMatchObject({ recvNoMount: true, recvProperties: false, recvExclude: false, properties: true, intermediates: true, listParsable: false, resumable: false });
      expect(readFileSync(join(dir, "calls"), "utf8").split("\n").slice(0, -1).sort()).toEqual(["", "list -?", "receive", "send"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("rejects with ZfsNotFoundError for a missing binary, and does not cache the failure", async () => {
    const promise = detectCapabilities("/nonexistent/zfs");
    await expect(promise).rejects.toBeInstanceOf(ZfsNotFoundError);
    await expect(detectCapabilities("/nonexistent/zfs")).rejects.toThrow('zfs not found at "/nonexistent/zfs"');
    expect(detectCapabilities("/nonexistent/zfs")).not.toBe(promise);
  });
});

describe("runZfs", () => {
  test("turns a missing dataset into a ZfsError with the operation first", async () => {
    const error = await runner.run(["list", "-H", "-o", "name", "tank/nope"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ZfsError);
    expect((error as ZfsError).message).toBe(`list "tank/nope": zfs exited 1: cannot open 'tank/nope': dataset does not exist`);
    expect([(error as ZfsError).exitCode, (error as ZfsError).isDatasetMissing]).toEqual([1, true]);
  });

  test("a usage error exits 2 and keeps the usage text in stderr but not in the message", async () => {
    const error = (await runner.run(["list", "-Q"]).catch((e: unknown) => e)) as ZfsError;
    expect(error.exitCode).toBe(2);
    expect(error.stderr).toContain("\tlist [-Hp] [-r|-d max]");
    expect(error.message).toBe(`list "-Q": zfs exited 2: invalid option 'Q'`);
  });

  test("a missing binary is a ZfsNotFoundError", async () => {
    await expect(runZfs(["list"], { bin: "/nonexistent/zfs" })).rejects.toThrow(ZfsNotFoundError);
  });

  test("aborting kills the child and rejects with the abort reason", async () => {
    // A held state lock makes the fake's `snapshot` wait; only the abort can end it early.
    const lock = `${fake.statePath}.lock`;
    writeFileSync(lock, "");
    try {
      const controller = new AbortController();
      const started = performance.now();
      const pending = runner.run(["snapshot", "tank/sink@blocked"], { signal: controller.signal });
      setTimeout(() => controller.abort(new Error("test abort")), 100);
      await expect(pending).rejects.toThrow("test abort");
      expect(performance.now() - started).toBeLessThan(5_000);
    } finally {
      rmSync(lock, { force: true });
    }
    expect(fake.state().datasets["tank/sink"]!.snapshots.blocked).toBeUndefined();
  });
});

describe("listing", () => {
  test("listFilesystems lists all, or a root and below, names with spaces intact", async () => {
    expect(await listFilesystems(runner)).toEqual(["other", "tank", "tank/sink", "tank/src a", "tank/src a/child"] as never);
    expect(await listFilesystems(runner, ds("tank/src a"))).toEqual(["tank/src a", "tank/src a/child"] as never);
  });

  test("listVersions returns exact guids oldest first, bookmark before its snapshot, via one list -p", async () => {
    const state = fake.state().datasets["tank/src a"]!;
    const versions = await listVersions(runner, ds("tank/src a"));
    expect(versions.map((x) => [x.name.full, x.guid, x.createtxg])).toEqual([
      ["tank/src a@s1", BigInt(state.snapshots.s1!.guid), BigInt(state.snapshots.s1!.createtxg)],
      ["tank/src a#b2", BigInt(state.bookmarks.b2!.guid), BigInt(state.snapshots.s2!.createtxg)],
      ["tank/src a@s2", BigInt(state.snapshots.s2!.guid), BigInt(state.snapshots.s2!.createtxg)],
      ["tank/src a@s3", BigInt(state.snapshots.s3!.guid), BigInt(state.snapshots.s3!.createtxg)],
    ]);
    expect(fake.calls()).toContainEqual(["list", "-H", "-p", "-o", "name,guid,createtxg,creation", "-t", "snapshot,bookmark", "-d", "1", "-s", "createtxg", "tank/src a"]);
  });

  test("listVersions of a missing dataset is a ZfsError with isDatasetMissing", async () => {
    const error = (await listVersions(runner, ds("tank/gone")).catch((e: unknown) => e)) as ZfsError;
    expect(error.isDatasetMissing).toBe(true);
  });

  test("datasetExists", async () => {
    expect([await datasetExists(runner, ds("tank/src a")), await datasetExists(runner, ds("tank/gone"))]).toEqual([true, false]);
  });

  test("getResumeToken is null when the property is '-'", async () => {
    expect(await getResumeToken(runner, ds("tank/sink"))).toBeNull();
  });
});

describe("send and receive children", () => {
  test("estimateSendSize predicts the exact bytes of a full and an incremental stream", async () => {
    const caps = await runner.capabilities();
    for (const request of [{ to: v("tank/src a@s1") }, { to: v("tank/src a@s3"), from: v("tank/src a#b2") }] as SendRequest[]) {
      const estimate = await estimateSendSize(runner, request);
      const send = startZfsSend(fake.bin, sendArgv(request, caps));
      const bytes = pump(send.readFd);
      closeQuietly(send.readFd);
      expect((await send.done()).exitCode).toBe(0);
      expect(estimate).toBe(BigInt(bytes));
    }
  });

  test("a full then an -I incremental stream arrive with the sender's guids", async () => {
    const caps = await runner.capabilities();
    const full = await transfer(sendArgv({ to: v("tank/src a@s1") }, caps), recvArgv({ target: ds("tank/sink/copy") }, caps));
    expect([full.send.exitCode, full.recv.exitCode, full.recv.stderrTail]).toEqual([0, 0, ""]);
    expect(full.bytes).toBeGreaterThan(PAYLOAD);
    const incr = await transfer(
      sendArgv({ to: v("tank/src a@s3"), from: v("tank/src a@s1"), intermediates: true }, caps),
      recvArgv({ target: ds("tank/sink/copy"), noMount: true }, caps),
    );
    expect([incr.send.exitCode, incr.recv.exitCode]).toEqual([0, 0]);
    const guids = async (name: string) => (await listVersions(runner, ds(name))).filter((x) => x.name.kind === "snapshot").map((x) => [x.name.name, x.guid]);
    expect(await guids("tank/sink/copy")).toEqual(await guids("tank/src a"));
    expect(fake.calls()).toContainEqual(["send", "-I", "tank/src a@s1", "tank/src a@s3"]);
    expect(fake.calls()).toContainEqual(["receive", "-u", "tank/sink/copy"]);
  });

  test("a failing send ends with exit 1 and its error in the stderr tail", async () => {
    fake.setEnv({ FAKE_ZFS_FAIL_AFTER: "10000" });
    try {
      const argv = sendArgv({ to: v("tank/src a@s2") }, await runner.capabilities());
      const send = startZfsSend(fake.bin, argv);
      const bytes = pump(send.readFd);
      closeQuietly(send.readFd);
      const result = await send.done();
      expect([bytes, result.exitCode, result.signalCode]).toEqual([10000, 1, null]);
      expect(result.stderrTail).toBe("warning: cannot send 'tank/src a@s2': Input/output error\n");
      expect(zfsChildError(argv, result)?.message).toBe(`send "tank/src a@s2": zfs exited 1: warning: cannot send 'tank/src a@s2': Input/output error`);
    } finally {
      fake.setEnv({ FAKE_ZFS_FAIL_AFTER: undefined });
    }
  });

  test("kill() mid-stream signals the child, reaps it and leaves no process", async () => {
    fake.setEnv({ FAKE_ZFS_SEND_BYTES: String(1 << 30) });
    await runner.run(["snapshot", "tank/src a@big"]);
    fake.setEnv({ FAKE_ZFS_SEND_BYTES: undefined });
    const send = startZfsSend(fake.bin, ["send", "tank/src a@big"]);
    try {
      const buf = Buffer.allocUnsafe(1 << 16);
      expect(readSync(send.readFd, buf, 0, buf.length, null)).toBeGreaterThan(0);
      const result = await send.kill();
      expect([result.exitCode, result.signalCode, send.proc.signalCode]).toEqual([143, "SIGTERM", "SIGTERM"]);
      expect(pidGone(send.proc.pid)).toBe(true);
      expect(await send.kill()).toBe(result); // idempotent, no second signal
    } finally {
      closeQuietly(send.readFd);
      await runner.run(["destroy", "tank/src a@big"]);
    }
  });

  test("leaving an `await using` scope kills a still-running receive", async () => {
    let pid = 0;
    let writeFd = -1;
    {
      await using recv = startZfsRecv(fake.bin, ["receive", "tank/sink/never"]);
      pid = recv.proc.pid;
      writeFd = recv.writeFd;
    }
    closeQuietly(writeFd);
    expect(pidGone(pid)).toBe(true);
    expect(await datasetExists(runner, ds("tank/sink/never"))).toBe(false);
  });

  test("a missing binary throws ZfsNotFoundError from startZfsSend", () => {
    expect(() => startZfsSend("/nonexistent/zfs", ["send", "x@y"])).toThrow(ZfsNotFoundError);
  });
});

describe("resumable receive", () => {
  test("a cut stream leaves a token that decodes, estimates and resumes to completion", async () => {
    const caps = await runner.capabilities();
    const target = ds("tank/sink/resumed");
    const source = (await listVersions(runner, ds("tank/src a"))).find((x) => x.name.full === "tank/src a@s2")!;

    fake.setEnv({ FAKE_ZFS_FAIL_AFTER: "20000" });
    const cut = await transfer(sendArgv({ to: v("tank/src a@s2") }, caps), recvArgv({ target, resumable: true }, caps));
    fake.setEnv({ FAKE_ZFS_FAIL_AFTER: undefined });
    expect([cut.bytes, cut.send.exitCode, cut.recv.exitCode]).toEqual([20000, 1, 1]);
    expect(cut.recv.stderrTail).toContain("cannot receive new filesystem stream: checksum mismatch or incomplete stream.\nPartially received snapshot is saved.");

    const token = await getResumeToken(runner, target);
    expect(token).not.toBeNull();
    expect(cut.recv.stderrTail).toContain(`    zfs send -t ${token}`);
    const info = await decodeResumeToken(runner, token!);
    expect({ toname: info.toname.full, toguid: info.toguid, fromguid: info.fromguid, bytes: info.bytes }).toEqual({
      toname: "tank/src a@s2",
      toguid: source.guid,
      fromguid: undefined,
      bytes: 20000n,
    });
    expect(info.offset > 0n && info.offset < BigInt(PAYLOAD)).toBe(true);
    const rest = (await estimateSendSize(runner, { token: token! }))!;
    const whole = (await estimateSendSize(runner, { to: v("tank/src a@s2") }))!;
    expect(rest < whole && rest > BigInt(PAYLOAD) - info.offset).toBe(true);

    const resumed = await transfer(resumeSendArgv(token!, caps), recvArgv({ target, resumable: true }, caps));
    expect([resumed.send.exitCode, resumed.recv.exitCode, resumed.recv.stderrTail]).toEqual([0, 0, ""]);
    expect(BigInt(resumed.bytes)).toBe(rest);
    expect(await getResumeToken(runner, target)).toBeNull();
    expect((await listVersions(runner, target)).map((x) => [x.name.full, x.guid])).toEqual([["tank/sink/resumed@s2", source.guid]]);
  });

  test("listTree reads a whole tree's placeholders and resume tokens in one zfs get, skipping snapshots", async () => {
    const caps = await runner.capabilities();
    await runner.run(["create", "-o", "zferry:placeholder=on", "tank/sink/ph"]);
    await runner.run(["create", "tank/sink/ph/kid"]);
    await runner.run(["snapshot", "tank/sink/ph/kid@k1"]);
    fake.setEnv({ FAKE_ZFS_FAIL_AFTER: "5000" });
    await transfer(sendArgv({ to: v("tank/src a@s1") }, caps), recvArgv({ target: ds("tank/sink/partial"), resumable: true }, caps));
    fake.setEnv({ FAKE_ZFS_FAIL_AFTER: undefined });
    const before = fake.calls().length;
    const tree = await listTree(runner, ds("tank/sink"));
    expect(fake.calls().length - before).toBe(1);
    const byName = new Map(tree.map((e) => [e.name as string, e]));
    expect(byName.get("tank/sink")).toEqual({ name: "tank/sink", placeholder: false, resumeToken: null } as never);
    expect(byName.get("tank/sink/ph")).toEqual({ name: "tank/sink/ph", placeholder: true, resumeToken: null } as never);
    expect(byName.get("tank/sink/ph/kid")?.placeholder).toBe(false); // inherits "on", is not one
    expect(byName.get("tank/sink/partial")?.resumeToken).toBe(await getResumeToken(runner, ds("tank/sink/partial")));
    expect(byName.get("tank/sink/partial")?.resumeToken).toMatch(/^1-/);
    expect(tree.some((e) => e.name.includes("@"))).toBe(false);
    const missing = (await listTree(runner, ds("tank/nope")).catch((e: unknown) => e)) as ZfsError;
    expect(missing.isDatasetMissing).toBe(true);
    await runner.run(["receive", "-A", "tank/sink/partial"]);
  });

  test("abortResumableReceive discards partial state once, then reports there is none", async () => {
    const caps = await runner.capabilities();
    const target = ds("tank/sink/aborted");
    fake.setEnv({ FAKE_ZFS_FAIL_AFTER: "5000" });
    await transfer(sendArgv({ to: v("tank/src a@s1") }, caps), recvArgv({ target, resumable: true }, caps));
    fake.setEnv({ FAKE_ZFS_FAIL_AFTER: undefined });
    expect(await getResumeToken(runner, target)).not.toBeNull();
    expect(await abortResumableReceive(runner, target)).toBe(true);
    expect(await datasetExists(runner, target)).toBe(false); // it was a new filesystem: -A destroys it
    await runner.run(["create", "tank/sink/plain"]);
    expect(await abortResumableReceive(runner, ds("tank/sink/plain"))).toBe(false);
  });

  test("decodeResumeToken reads a token whose snapshot is not on this host (zfs exits 255 after the dump)", async () => {
    const realToken =
      "1-1379a801cc-118-789c636064000310a501c49c50360710a715e5e7a69766a63040c1ddf48fab1ff809c72a00d9ec48eaf293b252934b207c10c0904f4b2b4e2d618003903c1b927c5265496a3103aa3cb2fe927c882be6bfd04ccafb9ba3958024cf0996cf4bcc4d6560284ecd4bd1071a55a29f63106fa89f63186fa09f63146fe4505c99979c9f99129f5f94999f176f646064aa6b60a46b646c656866656c616564a0ebee1ba26b606665600073030078d32d6a";
    const info = await decodeResumeToken(runner, realToken);
    expect([info.toname.full, info.toguid, info.fromguid]).toEqual([
      "send/test/l0_1/l1_0/l2_2@syncoid_orion_2025-02-23:16:38:20-GMT-06:00",
      0x2a6cfd6e6229e89fn,
      0x5d134ee0abf167ddn,
    ]);
  });

  test("decodeResumeToken rejects a token zfs calls corrupt with its exit status", async () => {
    const error = (await decodeResumeToken(runner, "1-abc-12-00").catch((e: unknown) => e)) as ZfsError;
    expect(error).toBeInstanceOf(ZfsError);
    expect(error.exitCode).toBe(255);
    expect(error.message).toContain("cannot resume send: resume token is corrupt (incorrect checksum)");
  });
});

describe("compiled fake (benches)", () => {
  test("answers exactly as the script: usage, listings, streams", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zferry-fake-build-"));
    try {
      const program = compileFakeZfs(join(dir, "zfs"));
      const fixtures = ["tank/a@s1", "tank/a#b1", "tank/a/kid@k1", "sink"];
      using script = createFakeZfs({ datasets: fixtures, env: { FAKE_ZFS_NOW: "1700000000" } });
      using compiled = createFakeZfs({ datasets: fixtures, env: { FAKE_ZFS_NOW: "1700000000" }, program });
      for (const argv of [[], ["list", "-H", "-p", "-o", "name,guid,createtxg,creation", "-t", "all", "-r", "tank"], ["send", "tank/a@s1"], ["get", "nope"]]) {
        const a = Bun.spawnSync([script.bin, ...argv]);
        const b = Bun.spawnSync([compiled.bin, ...argv]);
        expect([b.exitCode, b.stdout.toString(), b.stderr.toString()]).toEqual([a.exitCode, a.stdout.toString(), a.stderr.toString()]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
