/**
 * The stdinserver's endpoints in process, over two real pipes (so bodies take the fd data path, as
 * under sshd), against the fake OpenZFS zfs. Where a case is about an older zfs, the session's
 * capabilities are those of the fake with that feature taken away, as zfs-fuse would report them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ENDPOINTS, listVersionsResponse, sendArgs } from "../src/api/index.ts";
import { RemoteSession } from "../src/client/remote.ts";
import { parseConfig } from "../src/config/index.ts";
import { logger } from "../src/log.ts";
import { RpcClient, RpcConnection, RpcError, StreamError, serve, type OctetProducer } from "../src/rpc/index.ts";
import { serverEndpoints } from "../src/server/endpoints/index.ts";
import { ChildRegistry, aclForIdentity } from "../src/server/index.ts";
import { ZfsRunner, parseDatasetName, startSendStream, type ZfsCapabilities } from "../src/zfs/index.ts";
import { createFakeZfs, type FakeZfs } from "./fake-zfs/fixture.ts";
import { pipeDuplexPair } from "../src/transport/index.ts";
import { patternStream } from "./helpers/test-endpoints.ts";

const log = logger.withTag("test");
let fake: FakeZfs;
let fullCaps: ZfsCapabilities;

beforeAll(async () => {
  fake = createFakeZfs({ datasets: ["tank/a@s1", "tank/a#b1", "tank/a@s2", "tank/sink"] });
  fullCaps = await new ZfsRunner({ bin: fake.bin }).capabilities();
});
afterAll(() => fake[Symbol.dispose]());

interface Session extends AsyncDisposable {
  remote: RemoteSession;
  /** The server's log lines. */
  lines: string[];
}

/** A server for identity backup1 and a client, connected by two pipes. */
async function session(caps: Partial<ZfsCapabilities> = {}): Promise<Session> {
  const config = parseConfig(
    { zfs: { bin: fake.bin }, clients: { backup1: { filesystems: { "tank/a<": true }, receive_root: "tank/sink" } } },
    "test.toml",
  );
  const [c, s] = pipeDuplexPair(["pipe A", "pipe B"]);
  const [clientConn, serverConn] = await Promise.all([
    RpcConnection.open(c, { software: "zferry/test", idleTimeoutMs: 20_000 }),
    RpcConnection.open(s, { software: "zferry/test", idleTimeoutMs: 20_000 }),
  ]);
  const runner = new ZfsRunner({ bin: fake.bin });
  const children = new ChildRegistry();
  const ctx = { identity: "backup1", acl: aclForIdentity(config, "backup1"), runner, caps: { ...fullCaps, ...caps }, software: "zferry/test", children, log, lockDir: config.locks.dir, job: {} };
  const lines: string[] = [];
  const served = serve(serverConn, serverEndpoints(ctx), { log, onCallDone: (e) => lines.push(`${e.endpoint} ${e.status} ${e.message ?? ""}`) }).finally(() => serverConn.close());
  const remote = new RemoteSession(new RpcClient(clientConn));
  return {
    remote,
    lines,
    async [Symbol.asyncDispose]() {
      await remote.close();
      await served;
      await children.killAll();
    },
  };
}

/** A request body of `bytes` bytes that is not a zfs stream. */
function garbage(bytes: number): OctetProducer {
  return { source: patternStream(7, bytes), abort: () => {}, finish: async () => null };
}

const A = parseDatasetName("tank/a");

describe("receive", () => {
  // Regression: a large body made `zfs recv` exit early, the write into it failed with EPIPE, and the
  // answer was bad_request "the client's stream failed: cancelled by the server: … EPIPE".
  test.each([
    ["a small body (zfs reads it all before it fails)", 1000],
    ["a 40 MiB body (zfs exits while it still arrives)", 40 << 20],
  ])("receive of garbage, %s, answers server_error with zfs's stderr, and the connection stays usable", async (_name, bytes) => {
    await using s = await session();
    const err = await s.remote.receive({ dataset: parseDatasetName("tank/x"), snapshot: "s1" as never }, garbage(bytes)).catch((e) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect({ status: (err as RpcError).status, message: (err as RpcError).message }).toEqual({
      status: "server_error",
      message: 'receive "tank/sink/tank/x@s1": zfs exited 1: cannot receive: invalid stream (bad magic number)',
    });
    expect((await s.remote.info()).identity).toBe("backup1");
  });
});

describe("receive checks its target without listing snapshots", () => {
  /** The fake's `zfs send ARGV` as a request body. */
  const body = (...argv: string[]) => startSendStream(fake.bin, argv);
  const guidOf = (ds: string, snap: string) => BigInt(fake.state().datasets[ds]!.snapshots[snap]!.guid);
  const A = "tank/sink/tank/a";

  test("an incremental onto a target that diverged: zfs refuses it, one listing of the target says why (conflict)", async () => {
    await using s = await session();
    const sent = await s.remote.receive({ dataset: parseDatasetName("tank/a"), snapshot: "s1" as never }, body("send", "tank/a@s1"));
    expect(sent).toMatchObject({ target: A, guid: guidOf("tank/a", "s1") });
    Bun.spawnSync([fake.bin, "snapshot", `${A}@mine`]); // made on the server's copy by hand
    const err = await s.remote
      .receive({ dataset: parseDatasetName("tank/a"), snapshot: "s2" as never, from_guid: guidOf("tank/a", "s1") }, body("send", "-i", "tank/a@s1", "tank/a@s2"))
      .catch((e) => e);
    expect(err).toMatchObject({ name: "RpcError", status: "conflict", message: `Cannot receive into "${A}": its newest snapshot "${A}@mine" is not the incremental source (GUID ${guidOf("tank/a", "s1")}); the target has diverged` });
    expect(Object.keys(fake.state().datasets[A]!.snapshots)).toEqual(["s1", "mine"]);
    Bun.spawnSync([fake.bin, "destroy", "-r", "tank/sink/tank"]);
  });

  test.each([
    ["an incremental into a target that does not exist", { from_guid: 1n }, "tank/a@s1 tank/a@s2", `Cannot receive an incremental stream into "tank/sink/tank/b": it does not exist (a full stream is needed)`],
    ["a full stream onto a dataset that is not a placeholder", {}, "tank/a@s1", `Cannot receive a full stream into "tank/sink/tank/b": it already exists; zferry does not overwrite datasets`],
  ] as const)("%s: conflict, nothing received", async (label, extra, stream, message) => {
    if (label.startsWith("a full")) Bun.spawnSync([fake.bin, "create", "-p", "tank/sink/tank/b"]);
    try {
      await using s = await session();
      const [from, to] = stream.split(" ");
      const err = await s.remote.receive({ dataset: parseDatasetName("tank/b"), snapshot: "s2" as never, ...extra }, to ? body("send", "-i", from!, to) : body("send", from!)).catch((e) => e);
      expect(err).toMatchObject({ name: "RpcError", status: "conflict", message });
      expect(fake.fed()).not.toContain("tank/sink/tank/b@s2");
    } finally {
      Bun.spawnSync([fake.bin, "destroy", "-r", "tank/sink/tank"]);
    }
  });

  test("a full stream into an empty placeholder lands with -F; into a placeholder that has a snapshot it is refused", async () => {
    await using s = await session();
    Bun.spawnSync([fake.bin, "create", "-p", "-o", "zferry:placeholder=on", "-o", "canmount=off", A]);
    const landed = await s.remote.receive({ dataset: parseDatasetName("tank/a"), snapshot: "s1" as never }, body("send", "tank/a@s1"));
    expect(landed).toMatchObject({ target: A, guid: guidOf("tank/a", "s1") });
    expect(fake.calls().filter((c) => c[0] === "receive").at(-1)).toContain("-F");
    Bun.spawnSync([fake.bin, "destroy", "-r", "tank/sink/tank"]);

    await using t = await session();
    Bun.spawnSync([fake.bin, "create", "-p", "-o", "zferry:placeholder=on", "-o", "canmount=off", A]);
    Bun.spawnSync([fake.bin, "snapshot", `${A}@kept`]);
    const err = await t.remote.receive({ dataset: parseDatasetName("tank/a"), snapshot: "s1" as never }, body("send", "tank/a@s1")).catch((e) => e);
    expect(err).toMatchObject({ status: "conflict", message: `Cannot receive a full stream into "${A}": it already exists; zferry does not overwrite datasets` });
    expect(Object.keys(fake.state().datasets[A]!.snapshots)).toEqual(["kept"]);
    Bun.spawnSync([fake.bin, "destroy", "-r", "tank/sink/tank"]);
  });
});

describe("send", () => {
  // Regression: without bookmarks the lookup of the bookmark failed, which answered not_found.
  test("send from a bookmark on a zfs without bookmarks is unsupported, not not_found", async () => {
    await using s = await session({ bookmarks: false });
    const args = sendArgs({ dataset: "tank/a", to: "s2", from: { name: "b1", kind: "bookmark" } }, "args");
    for (const call of [() => s.remote.send(args, () => {}), () => s.remote.estimateSend(args)]) {
      const err = await call().catch((e) => e);
      expect(err).toMatchObject({
        name: "RpcError",
        status: "unsupported",
        message: "An incremental send from a bookmark needs zfs bookmarks; the server's zfs does not support them",
      });
    }
  });

  test("send from a bookmark works where zfs has bookmarks", async () => {
    await using s = await session();
    const got = await s.remote.send(sendArgs({ dataset: "tank/a", to: "s2", from: { name: "b1", kind: "bookmark" } }, "args"), () => {});
    expect(got.error).toBeNull();
  });

  // docs/protocol.md § Endpoints states this form of the trailer's error.
  test("a zfs send failing midway ends the stream with the trailer error 'send \"<dataset>@<to>\": zfs exited 1: <stderr>'", async () => {
    fake.setEnv({ FAKE_ZFS_SEND_BYTES: String(4 << 20), FAKE_ZFS_FAIL_AFTER: "1500000" });
    try {
      await using s = await session();
      const err = await s.remote.send(sendArgs({ dataset: "tank/a", to: "s1" }, "args"), () => {}).catch((e) => e);
      expect(err).toBeInstanceOf(StreamError);
      expect((err as StreamError).message).toBe("send \"tank/a@s1\": zfs exited 1: warning: cannot send 'tank/a@s1': Input/output error");
    } finally {
      fake.setEnv({ FAKE_ZFS_SEND_BYTES: undefined, FAKE_ZFS_FAIL_AFTER: undefined });
    }
  });
});

describe("send is checked on its stream, not on a listing", () => {
  const guidOf = (name: string) => BigInt(name.includes("@") ? fake.state().datasets[name.split("@")[0]!]!.snapshots[name.split("@")[1]!]!.guid : "0");
  /** The zfs commands a call made (the fake logs every one), but the session's one listing of datasets for their encryption. */
  async function callsOf(fn: () => Promise<unknown>): Promise<string[][]> {
    const before = fake.calls().length;
    await fn();
    return fake.calls().slice(before).filter((argv) => !isEncryptionListing(argv));
  }
  const isEncryptionListing = (argv: string[]) => argv.join(" ") === "list -H -p -t filesystem,volume -o name,type,guid,createtxg,creation,snapshots_changed,receive_resume_token,encryption -r tank/a";

  test("a session lists its datasets once, without snapshots, for their encryption (send_decrypted not granted)", async () => {
    await using s = await session();
    const before = fake.calls().length;
    for (const to of ["s1", "s2", "s1"]) expect((await s.remote.send(sendArgs({ dataset: "tank/a", to }, "args"), () => {})).error).toBeNull();
    expect(fake.calls().slice(before).map((argv) => (isEncryptionListing(argv) ? "datasets" : argv[0]))).toEqual(["datasets", "send", "send", "send"]);
  });

  test("a list_tree of the whole tree is also the session's listing of encryption: no further listing, and an encrypted dataset is still refused", async () => {
    await Bun.$`${fake.bin} create -o encryption=aes-256-gcm tank/a/enc`.quiet();
    await Bun.$`${fake.bin} snapshot tank/a/enc@e1`.quiet();
    try {
      await using s = await session();
      expect([...(await s.remote.listTree({ columns: true })).keys()]).toEqual(["tank/a", "tank/a/enc"]);
      const before = fake.calls().length;
      expect((await s.remote.send(sendArgs({ dataset: "tank/a", to: "s1" }, "args"), () => {})).error).toBeNull();
      const refused = await s.remote.send(sendArgs({ dataset: "tank/a/enc", to: "e1" }, "args"), () => {}).catch((e) => e);
      expect(refused).toMatchObject({ name: "RpcError", status: "permission_denied", message: expect.stringContaining('"tank/a/enc" is encrypted (aes-256-gcm)') });
      expect(fake.calls().slice(before).map((argv) => argv[0])).toEqual(["send"]);
    } finally {
      await Bun.$`${fake.bin} destroy -r tank/a/enc`.quiet();
    }
  });

  test("sends that ask for what zfs sends cost one zfs send each and no listing", async () => {
    await using s = await session();
    const calls = await callsOf(async () => {
      const full = await s.remote.send(sendArgs({ dataset: "tank/a", to: "s1", to_guid: guidOf("tank/a@s1") }, "args"), () => {});
      const inc = await s.remote.send(sendArgs({ dataset: "tank/a", to: "s2", to_guid: guidOf("tank/a@s2"), from: { name: "s1", kind: "snapshot" }, from_guid: guidOf("tank/a@s1") }, "args"), () => {});
      const all = await s.remote.send(sendArgs({ dataset: "tank/a", to: "s2", from: { name: "s1", kind: "snapshot" }, from_guid: guidOf("tank/a@s1"), intermediates: true }, "args"), () => {});
      expect([full.error, inc.error, all.error]).toEqual([null, null, null]);
    });
    expect(calls).toEqual([["send", "tank/a@s1"], ["send", "-i", "tank/a@s1", "tank/a@s2"], ["send", "-I", "tank/a@s1", "tank/a@s2"]]);
  });

  test.each([
    ["a snapshot replaced since the plan (its GUID)", { to: "s2", to_guid: 12345n, from: { name: "s1", kind: "snapshot" } }, "conflict", 'Snapshot "tank/a@s2" has GUID %s2, not 12345: it was replaced'],
    ["an incremental source replaced since the plan", { to: "s2", from: { name: "s1", kind: "snapshot" }, from_guid: 777n }, "conflict", 'Incremental source "tank/a@s1" has GUID %s1, not 777'],
    ["the source of a -I stream (a package: its first substream is read)", { to: "s2", from: { name: "s1", kind: "snapshot" }, from_guid: 777n, intermediates: true }, "conflict", 'Incremental source "tank/a@s1" has GUID %s1, not 777'],
  ] as const)("%s: conflict from the stream's first record, zfs send stopped, no listing", async (_, args, status, message) => {
    await using s = await session();
    let err: unknown;
    const calls = await callsOf(async () => {
      err = await s.remote.send(sendArgs({ dataset: "tank/a", ...args }, "args"), () => {}).catch((e) => e);
    });
    expect(err).toMatchObject({ name: "RpcError", status, message: message.replace("%s2", String(guidOf("tank/a@s2"))).replace("%s1", String(guidOf("tank/a@s1"))) });
    expect(calls.map((argv) => argv[0])).toEqual(["send"]);
    expect((await s.remote.info()).identity).toBe("backup1"); // the session goes on
  });

  test.each([
    ["a snapshot that does not exist", { to: "s9" }, "not_found", 'Snapshot "tank/a@s9" does not exist'],
    ["an incremental source that does not exist", { to: "s2", from: { name: "s0", kind: "snapshot" } }, "not_found", 'Incremental source "tank/a@s0" does not exist'],
    ["an incremental source that is not older", { to: "s1", from: { name: "s2", kind: "snapshot" } }, "bad_request", 'Incremental source "tank/a@s2" is not older than "tank/a@s1"'],
  ] as const)("%s: zfs send fails before its stream, and one listing says why", async (_, args, status, message) => {
    await using s = await session();
    let err: unknown;
    const calls = await callsOf(async () => {
      err = await s.remote.send(sendArgs({ dataset: "tank/a", ...args }, "args"), () => {}).catch((e) => e);
    });
    expect(err).toMatchObject({ name: "RpcError", status, message });
    expect(calls.map((argv) => argv[0])).toEqual(["send", "list"]);
  });
});

describe("estimate_send", () => {
  // Regression: README § Older ZFS says estimates are refused with unsupported; the answer was ok {}.
  test("estimate_send on a zfs without send -nP is unsupported, and info says so", async () => {
    await using s = await session({ sendEstimate: false });
    expect((await s.remote.info()).capabilities.send_estimate).toBe(false);
    const err = await s.remote.estimateSend(sendArgs({ dataset: "tank/a", to: "s2" }, "args")).catch((e) => e);
    expect(err).toMatchObject({ name: "RpcError", status: "unsupported", message: "Estimating a send needs `zfs send -nP`; the server's zfs does not support it" });
  });

  test("estimate_send where zfs can estimate gives the size", async () => {
    await using s = await session();
    expect(await s.remote.estimateSend(sendArgs({ dataset: "tank/a", to: "s2" }, "args"))).toBeGreaterThan(0n);
  });
});

describe("list_versions", () => {
  // Regression: createtxg (and every other bigint) went out as 1b + 8 bytes, e.g. 1b 00 … 13 for 19.
  test("list_versions writes small createtxg and creation values with their shortest CBOR heads", async () => {
    await using s = await session();
    const value = await s.remote.rpc.callValue(ENDPOINTS.listVersions, { dataset: A }, (v) => v);
    expect(listVersionsResponse(value, "value").versions.length).toBe(3);
    const versions = (value as { versions: { createtxg: unknown }[] }).versions;
    // Decoded with int64AsType "bigint": only an integer in a 1b head comes back as a bigint.
    expect(versions.map((v) => typeof v.createtxg)).toEqual(["number", "number", "number"]);
  });
});

