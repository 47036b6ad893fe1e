/**
 * list_tree, the one listing a job plans from: the server's whole readable tree as a record
 * stream, filtered by the ACL before anything is encoded. In process over two real pipes against
 * the fake OpenZFS zfs, like server-endpoints.test.ts.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { ENDPOINTS } from "../src/api/index.ts";
import { RemoteSession } from "../src/client/remote.ts";
import { parseConfig } from "../src/config/index.ts";
import { logger } from "../src/log.ts";
import { RpcClient, RpcConnection, serve } from "../src/rpc/index.ts";
import { serverEndpoints } from "../src/server/endpoints/index.ts";
import { ChildRegistry, aclForIdentity } from "../src/server/index.ts";
import { ZfsRunner } from "../src/zfs/index.ts";
import type { FakeDataset, FakeState } from "./fake-zfs/state.ts";
import { createFakeZfs, type FakeZfs } from "./fake-zfs/fixture.ts";
import { pipeDuplexPair } from "../src/transport/index.ts";

const log = logger.withTag("test");
let fake: FakeZfs | null = null;
afterEach(() => {
  fake?.[Symbol.dispose]();
  fake = null;
});

/** A server for identity b1 with `client` as its [clients.b1], and a client, over two pipes. */
async function session(f: FakeZfs, client: Record<string, unknown>) {
  const config = parseConfig({ zfs: { bin: f.bin }, clients: { b1: client } }, "test.toml");
  const [c, s] = pipeDuplexPair(["pipe A", "pipe B"]);
  const [clientConn, serverConn] = await Promise.all([
    RpcConnection.open(c, { software: "zferry/test", idleTimeoutMs: 60_000 }),
    RpcConnection.open(s, { software: "zferry/test", idleTimeoutMs: 60_000 }),
  ]);
  const runner = new ZfsRunner({ bin: f.bin });
  const children = new ChildRegistry();
  const ctx = { identity: "b1", acl: aclForIdentity(config, "b1"), runner, caps: await runner.capabilities(), software: "zferry/test", children, log, lockDir: config.locks.dir, job: {} };
  const served = serve(serverConn, serverEndpoints(ctx), { log }).finally(() => serverConn.close());
  const remote = new RemoteSession(new RpcClient(clientConn));
  return {
    remote,
    async [Symbol.asyncDispose]() {
      await remote.close();
      await served;
      await children.killAll();
    },
  };
}

describe("list_tree", () => {
  test("lists exactly what the ACL allows; no other name is in the body, not even as a version's dataset", async () => {
    fake = createFakeZfs({
      datasets: ["tank/data@s1", "tank/data/sub@s1", "tank/data/sub#b1", "tank/data2@s1", "tank/data/scratch@s1", "tank/data/scratch/x@s1", "tank/a b@s1", "tank/secret@s1", "other/data@s1"],
    });
    await using s = await session(fake, { filesystems: { "tank/data<": true, "tank/data/scratch<": false, "tank/a b": true } });
    const tree = await s.remote.listTree();
    expect([...tree.keys()].sort()).toEqual(["tank/a b", "tank/data", "tank/data/sub"]);
    expect(tree.get("tank/data/sub")!.versions.map((v) => `${v.type} ${v.name}`)).toEqual(["bookmark b1", "snapshot s1"]);
    // The raw body, byte for byte: the denied names never leave the server.
    const chunks: Uint8Array[] = [];
    await s.remote.rpc.callOctets(ENDPOINTS.listTree, {}, (chunk) => void chunks.push(chunk.slice()));
    const text = Buffer.concat(chunks).toString("latin1");
    for (const denied of ["data2", "scratch", "secret", "other"]) expect(text).not.toContain(denied);
  });

  test("datasets by name: only those the ACL allows, each with its own versions and nothing below; denied names are not listed, not even by zfs", async () => {
    fake = createFakeZfs({ datasets: ["tank/data@s1", "tank/data@s2", "tank/data/sub@s1", "tank/secret@s1", "tank/data/gone@s1"] });
    await using s = await session(fake, { filesystems: { "tank/data<": true } });
    const before = fake.calls().length;
    const tree = await s.remote.listTree({ datasets: ["tank/data", "tank/secret", "tank/data/nope"] });
    expect([...tree.keys()]).toEqual(["tank/data"]);
    expect(tree.get("tank/data")!.versions.map((v) => v.name)).toEqual(["s1", "s2"]);
    expect(tree.get("tank/data")!.entry.guid).toBeGreaterThan(0n);
    const listed = fake.calls().slice(before).filter((c) => c[0] === "list");
    expect(listed.map((c) => c.slice(c.indexOf("-d"))).flat()).toEqual(["-d", "1", "tank/data", "tank/data/nope"]);
    const chunks: Uint8Array[] = [];
    await s.remote.rpc.callOctets(ENDPOINTS.listTree, { datasets: ["tank/secret"] }, (chunk) => void chunks.push(chunk.slice()));
    expect(Buffer.concat(chunks).toString("latin1")).not.toContain("secret");
    expect(await s.remote.listTree({ datasets: ["tank/../etc"] }).catch((e) => e)).toMatchObject({ status: "bad_request", message: expect.stringContaining("datasets[0]") });
  });

  test("versions: false lists the filesystems alone, with their GUIDs and snapshots_changed", async () => {
    fake = createFakeZfs({ datasets: ["tank/data@s1", "tank/data/sub@s1"] });
    await using s = await session(fake, { filesystems: { "tank<": true } });
    const tree = await s.remote.listTree({ versions: false });
    expect([...tree.keys()].sort()).toEqual(["tank", "tank/data", "tank/data/sub"]);
    for (const node of tree.values()) expect(node.versions).toEqual([]);
    expect(typeof tree.get("tank/data")!.entry.snapshots_changed).toBe("number");
  });

  test("with received: what this client pushed, named as on the client, with placeholders and nothing of receive_root itself", async () => {
    fake = createFakeZfs({ datasets: ["sink/b1@own", "sink/b1/tank/a@s1", "other@x"] });
    Bun.spawnSync([fake.bin, "set", "zferry:placeholder=on", "sink/b1/tank"]);
    await using s = await session(fake, { filesystems: {}, receive_root: "sink/b1" });
    const tree = await s.remote.listTree({ received: true });
    expect([...tree.keys()]).toEqual(["tank", "tank/a"]);
    expect(tree.get("tank")!.entry.placeholder).toBe(true);
    expect(tree.get("tank/a")!.versions.map((v) => v.name)).toEqual(["s1"]);
    // Sizes estimate a send, and nothing is sent from receive_root: zfs is not asked for them.
    expect(tree.get("tank/a")!.versions.map((v) => [v.referenced, v.written])).toEqual([[undefined, undefined]]);
    const listing = fake.calls().find((argv) => argv[0] === "list" && argv.at(-1) === "sink/b1")!;
    expect(listing[listing.indexOf("-o") + 1]!.split(",")).toEqual(expect.arrayContaining(["guid", "createtxg", "creation"]));
    expect(listing[listing.indexOf("-o") + 1]!.split(",")).not.toContain("written");
  });

  test("a receive_root that does not exist yet is an empty listing; an identity without one is refused", async () => {
    fake = createFakeZfs({ datasets: ["tank/a@s1"] });
    await using s = await session(fake, { filesystems: { "tank<": true }, receive_root: "sink/b1" });
    expect((await s.remote.listTree({ received: true })).size).toBe(0);
    await using t = await session(fake, { filesystems: { "tank<": true } });
    expect(await t.remote.listTree({ received: true }).catch((e) => e)).toMatchObject({ status: "permission_denied" });
  });

  test("one filesystem with 300 000 snapshots streams in records (more than a message may hold) and arrives whole, in order", async () => {
    fake = createFakeZfs();
    const N = 300_000;
    const ds = (guid: number): FakeDataset => ({ type: "filesystem", guid: String(guid), createtxg: 2, creation: 1_700_000_000, props: {}, snapshots: {}, bookmarks: {} });
    const state: FakeState = { txg: N + 100, datasets: { tank: ds(1), "tank/big": ds(2) } };
    // Created newest first: the listing's order comes from createtxg, not from the state's.
    for (let i = N - 1; i >= 0; i--) state.datasets["tank/big"]!.snapshots[`auto-${i}`] = { guid: String(10_000_000 + i), createtxg: 10 + i, creation: 1_700_000_000 + i };
    fake.setState(state);
    await using s = await session(fake, { filesystems: { "tank/big": true } });
    let bytes = 0;
    await s.remote.rpc.callOctets(ENDPOINTS.listTree, {}, (chunk) => void (bytes += chunk.byteLength));
    expect(bytes).toBeGreaterThan(16 << 20); // above the 16 MiB a value body may hold; each record is at most 1 MiB
    for (const columns of [false, true]) {
      const tree = await s.remote.listTree({ columns });
      const versions = [...tree.get("tank/big")!.versions];
      expect(versions.length).toBe(N);
      expect(versions[0]).toMatchObject({ name: "auto-0", guid: 10_000_000n });
      expect(versions.at(-1)).toMatchObject({ name: `auto-${N - 1}`, guid: BigInt(10_000_000 + N - 1) });
      expect(versions.every((v, i) => i === 0 || v.createtxg > versions[i - 1]!.createtxg)).toBe(true);
    }
    // In columns, a fraction of the bytes: no keys and no dataset name per version.
    let columnBytes = 0;
    await s.remote.rpc.callOctets(ENDPOINTS.listTree, { columns: true }, (chunk) => void (columnBytes += chunk.byteLength));
    expect(columnBytes).toBeLessThan(bytes / 2);
  }, 120_000);

  test("with columns: the same tree as version by version, names as the ACL allows them and no other in the body", async () => {
    fake = createFakeZfs({
      datasets: ["tank/data@s1", "tank/data@s2", "tank/data#b1", "tank/data/sub@s1", "tank/secret@s1", "tank/secret@s2", "tank/a b@s1", "tank/data/sub/deep@x"],
    });
    await using s = await session(fake, { filesystems: { "tank<": true, "tank/secret": false } });
    const info = await s.remote.info();
    expect(info.tree_columns).toBe(true);
    const plain = await s.remote.listTree();
    const columns = await s.remote.listTree({ columns: true });
    expect([...columns.keys()]).toEqual([...plain.keys()]);
    for (const [name, node] of plain) {
      expect(columns.get(name)!.entry).toEqual(node.entry);
      expect([...columns.get(name)!.versions]).toEqual([...node.versions]);
    }
    expect(columns.get("tank/data")!.versions.map((v) => `${v.type} ${v.name}`).sort()).toEqual(["bookmark b1", "snapshot s1", "snapshot s2"]);
    const chunks: Uint8Array[] = [];
    await s.remote.rpc.callOctets(ENDPOINTS.listTree, { columns: true }, (chunk) => void chunks.push(chunk.slice()));
    expect(Buffer.concat(chunks).toString("latin1")).not.toContain("secret");
    // What this client pushed, in columns too.
    await using r = await session(fake, { filesystems: {}, receive_root: "tank/data" });
    const pushed = await r.remote.listTree({ received: true, columns: true });
    expect([...pushed.keys()]).toEqual(["sub", "sub/deep"]);
    expect(pushed.get("sub/deep")!.versions.map((v) => `${v.dataset}@${v.name}`)).toEqual(["sub/deep@x"]);
  });
});
