/**
 * `list_filesystems` (which the cycle's snapshot step reads) and the `snapshot`, `protect`,
 * `protect_bases`, `prune` and `prune_datasets` endpoints in process over real pipes, against the fake
 * OpenZFS zfs: the grants, the server-side re-checks, and that a refusal changes nothing.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { ENDPOINTS, listFilesystemsResponse, protectBasesResponse, protectResponse, pruneDatasetsResponse, pruneResponse, snapshotResponse } from "../src/api/index.ts";
import { parseConfig } from "../src/config/index.ts";
import { logger } from "../src/log.ts";
import { RpcClient, RpcConnection, RpcError, serve } from "../src/rpc/index.ts";
import { serverEndpoints } from "../src/server/endpoints/index.ts";
import { ChildRegistry, aclForIdentity } from "../src/server/index.ts";
import { ZfsRunner } from "../src/zfs/index.ts";
import { createFakeZfs, type FakeZfs } from "./fake-zfs/fixture.ts";
import { pipeDuplexPair } from "../src/transport/index.ts";

const log = logger.withTag("test");
const S1 = "zferry_20261201T100000Z";
const S2 = "zferry_20261201T110000Z";
const S3 = "zferry_20261201T120000Z";
let fake: FakeZfs;

beforeEach(() => {
  fake = createFakeZfs({ datasets: [`tank/a@${S1}`, `tank/a@${S2}`, `tank/a@${S3}`, "tank/a@manual", `tank/a/c@${S1}`, `tank/a/c@${S2}`, `tank/a/secret@${S1}`, `tank/b@${S1}`] });
});
afterEach(() => fake[Symbol.dispose]());

/** b1: granted snapshot and prune on tank/a but not tank/a/secret; b2: read only; b3: another puller. */
async function session(identity: "b1" | "b2" | "b3"): Promise<RpcClient & AsyncDisposable> {
  const fs = { "tank/a<": true, "tank/a/secret": false };
  const config = parseConfig(
    {
      zfs: { bin: fake.bin },
      clients: { b1: { filesystems: fs, snapshot: { prefix: "zferry_" }, prune: true }, b2: { filesystems: fs }, b3: { filesystems: fs, snapshot: { prefix: "zferry_" }, prune: true } },
    },
    "test.toml",
  );
  const [c, s] = pipeDuplexPair(["pipe A", "pipe B"]);
  const [clientConn, serverConn] = await Promise.all([
    RpcConnection.open(c, { software: "zferry/test", idleTimeoutMs: 20_000 }),
    RpcConnection.open(s, { software: "zferry/test", idleTimeoutMs: 20_000 }),
  ]);
  const runner = new ZfsRunner({ bin: fake.bin });
  const children = new ChildRegistry();
  const ctx = { identity, acl: aclForIdentity(config, identity), runner, caps: await runner.capabilities(), software: "zferry/test", children, log, lockDir: config.locks.dir, job: {} };
  const served = serve(serverConn, serverEndpoints(ctx), { log }).finally(() => serverConn.close());
  const client = new RpcClient(clientConn) as RpcClient & AsyncDisposable;
  client[Symbol.asyncDispose] = async () => {
    await clientConn.close();
    await served;
    await children.killAll();
  };
  return client;
}

function snapshotsOf(ds: string): string[] {
  return Object.keys(fake.state().datasets[ds]?.snapshots ?? {}).sort();
}

async function refusal(p: Promise<unknown>): Promise<{ status: string; message: string }> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(RpcError);
  return { status: (err as RpcError).status, message: (err as RpcError).message };
}

test("list_filesystems lists the identity's readable roots only, and answers the readable datasets there", async () => {
  await using b1 = await session("b1");
  expect(await b1.callValue(ENDPOINTS.listFilesystems, undefined, listFilesystemsResponse)).toEqual({ filesystems: [{ name: "tank/a" }, { name: "tank/a/c" }] });
  expect(zfsCommands().map((c) => c.at(-1))).toEqual(["tank/a"]);
});

test("snapshot with the grant makes one name on every listed dataset in one zfs call", async () => {
  await using rpc = await session("b1");
  const name = "zferry_20261201T130000Z";
  expect(await rpc.callValue(ENDPOINTS.snapshot, { datasets: ["tank/a"], name }, snapshotResponse)).toEqual({ created: [`tank/a@${name}`] });
  expect(snapshotsOf("tank/a")).toContain(name);
  expect(fake.calls().filter((c) => c[0] === "snapshot")).toEqual([["snapshot", `tank/a@${name}`]]);
});

test.each([
  ["b2", { datasets: ["tank/a"], name: "zferry_20261201T130000Z" }, 'Client "b2" may not take snapshots: its [clients] entry has no snapshot = { prefix = "…" }'],
  ["b1", { datasets: ["tank/a"], name: "other_20261201T130000Z" }, 'Cannot snapshot as "other_20261201T130000Z": client "b1" may only take snapshots named zferry_<yyyymmddThhmmssZ>'],
  ["b1", { datasets: ["tank/a"], name: "zferry_now" }, 'Cannot snapshot as "zferry_now": client "b1" may only take snapshots named zferry_<yyyymmddThhmmssZ>'],
  ["b1", { datasets: ["tank/a", "tank/a/secret"], name: "zferry_20261201T130000Z" }, 'Dataset "tank/a/secret" is not allowed for client "b1"'],
  ["b1", { datasets: ["tank/b"], name: "zferry_20261201T130000Z" }, 'Dataset "tank/b" is not allowed for client "b1"'],
] as const)("snapshot as %s of %j is permission_denied and runs no zfs snapshot", async (identity, args, message) => {
  await using rpc = await session(identity);
  expect(await refusal(rpc.callValue(ENDPOINTS.snapshot, args, snapshotResponse))).toEqual({ status: "permission_denied", message });
  expect(fake.calls().filter((c) => c[0] === "snapshot")).toEqual([]);
});

test("prune destroys the listed snapshots in one call and keeps held ones", async () => {
  await using rpc = await session("b1");
  await Bun.$`${fake.bin} hold other-tool tank/a@${S2}`.quiet();
  expect(await rpc.callValue(ENDPOINTS.prune, { dataset: "tank/a", snapshots: [S1, S2, "zferry_20200101T000000Z"] }, pruneResponse)).toEqual({
    destroyed: [S1],
    kept: [
      { name: S2, reason: "held" },
      { name: "zferry_20200101T000000Z", reason: "not found" },
    ],
  });
  expect(snapshotsOf("tank/a")).toEqual(["manual", S2, S3].sort());
  expect(fake.calls().filter((c) => c[0] === "destroy")).toEqual([["destroy", `tank/a@${S1}`]]);
  // The hold counts came with the listing: no `zfs get userrefs` of its own.
  expect(fake.calls().filter((c) => c[0] === "get")).toEqual([]);
});

test.each([
  ["b2", { dataset: "tank/a", snapshots: [S1] }, 'Client "b2" may not prune: its [clients] entry has no prune = true'],
  ["b1", { dataset: "tank/a", snapshots: [S1, "manual"] }, 'Cannot prune "tank/a@manual": client "b1" may only destroy snapshots named zferry_…'],
  ["b1", { dataset: "tank/a/secret", snapshots: [S1] }, 'Dataset "tank/a/secret" is not allowed for client "b1"'],
] as const)("prune as %s of %j is permission_denied and destroys nothing", async (identity, args, message) => {
  await using rpc = await session(identity);
  expect(await refusal(rpc.callValue(ENDPOINTS.prune, args, pruneResponse))).toEqual({ status: "permission_denied", message });
  expect(snapshotsOf("tank/a")).toEqual([S1, S2, S3, "manual"].sort());
});

test("protect moves each identity's own hold; one puller's base survives the other's prune", async () => {
  {
    await using b1 = await session("b1");
    expect(await b1.callValue(ENDPOINTS.protect, { dataset: "tank/a", snapshot: S1 }, protectResponse)).toEqual({ held: S1, released: [], cursor: `zferry_b1_${S1}` });
    expect(await b1.callValue(ENDPOINTS.protect, { dataset: "tank/a", snapshot: S2 }, protectResponse)).toEqual({ held: S2, released: [S1], cursor: `zferry_b1_${S2}` });
  }
  {
    await using b3 = await session("b3");
    await b3.callValue(ENDPOINTS.protect, { dataset: "tank/a", snapshot: S3 }, protectResponse);
    // b3 prunes everything with the prefix: b1's base (S2) and its own (S3) are held and stay.
    expect(await b3.callValue(ENDPOINTS.prune, { dataset: "tank/a", snapshots: [S1, S2, S3] }, pruneResponse)).toEqual({
      destroyed: [S1],
      kept: [
        { name: S2, reason: "held" },
        { name: S3, reason: "held" },
      ],
    });
  }
  // Each identity's bookmark cursor sits on its base; b1's cursor on S1 went when S2 became its base.
  expect(Object.keys(fake.state().datasets["tank/a"]!.bookmarks).sort()).toEqual([`zferry_b1_${S2}`, `zferry_b3_${S3}`]);
  const snaps = fake.state().datasets["tank/a"]!.snapshots;
  expect([Object.keys(snaps[S2]!.holds ?? {}), Object.keys(snaps[S3]!.holds ?? {})]).toEqual([["zferry_b1"], ["zferry_b3"]]);
});

/** Each snapshot of `ds` that carries holds, with their tags. */
function holdsOf(ds: string): Record<string, string[]> {
  const snaps = fake.state().datasets[ds]!.snapshots;
  return Object.fromEntries(Object.entries(snaps).flatMap(([name, s]) => (Object.keys(s.holds ?? {}).length > 0 ? [[name, Object.keys(s.holds!).sort()]] : [])));
}

test("protect_bases moves the holds of many datasets in one hold, one listing and one release, then each cursor", async () => {
  await using b1 = await session("b1");
  const call = (snapshot: string) => b1.callValue(ENDPOINTS.protectBases, { bases: [{ dataset: "tank/a/c", snapshot }, { dataset: "tank/a", snapshot }] }, protectBasesResponse);
  expect(await call(S1)).toEqual({
    results: [
      { dataset: "tank/a/c", held: S1, cursor: `zferry_b1_${S1}` },
      { dataset: "tank/a", held: S1, cursor: `zferry_b1_${S1}` },
    ],
  });
  await Bun.$`${fake.bin} hold other-tool tank/a@${S1}`.quiet();
  const before = fake.calls().length;
  expect((await call(S2)).results.map((r) => r.held)).toEqual([S2, S2]);
  // Released from S1 where the other tool's hold stays; each cursor moved to S2.
  expect([holdsOf("tank/a"), holdsOf("tank/a/c")]).toEqual([{ [S1]: ["other-tool"], [S2]: ["zferry_b1"] }, { [S2]: ["zferry_b1"] }]);
  expect(Object.keys(fake.state().datasets["tank/a"]!.bookmarks)).toEqual([`zferry_b1_${S2}`]);
  expect(Object.keys(fake.state().datasets["tank/a/c"]!.bookmarks)).toEqual([`zferry_b1_${S2}`]);
  const calls = fake.calls().slice(before);
  expect(calls.map((c) => c[0]).sort()).toEqual(["bookmark", "bookmark", "destroy", "destroy", "hold", "list", "release"]);
  expect(calls.find((c) => c[0] === "release")).toEqual(["release", "zferry_b1", `tank/a/c@${S1}`, `tank/a@${S1}`]);
});

test("protect_bases: a base outside the ACL or missing fails alone, with protect's status and message", async () => {
  await using b1 = await session("b1");
  const missing = "zferry_20200101T000000Z";
  const bases = [
    { dataset: "tank/a/secret", snapshot: S1 },
    { dataset: "tank/a", snapshot: S2 },
    { dataset: "tank/a/c", snapshot: missing },
    { dataset: "tank/b", snapshot: S1 },
  ];
  const { results } = await b1.callValue(ENDPOINTS.protectBases, { bases }, protectBasesResponse);
  const alone = await refusal(b1.callValue(ENDPOINTS.protect, { dataset: "tank/a/c", snapshot: missing }, protectResponse));
  expect(results).toEqual([
    { dataset: "tank/a/secret", error: { status: "permission_denied", message: 'Dataset "tank/a/secret" is not allowed for client "b1"' } },
    { dataset: "tank/a", held: S2, cursor: `zferry_b1_${S2}` },
    { dataset: "tank/a/c", error: { ...alone, status: "not_found" } },
    { dataset: "tank/b", error: { status: "permission_denied", message: 'Dataset "tank/b" is not allowed for client "b1"' } },
  ]);
  expect([holdsOf("tank/a"), holdsOf("tank/a/c"), holdsOf("tank/a/secret"), holdsOf("tank/b")]).toEqual([{ [S2]: ["zferry_b1"] }, {}, {}, {}]);
  // Nothing was asked of zfs about the datasets outside the ACL, not even their names.
  expect(fake.calls().filter((c) => c.some((a) => a.includes("secret") || a.includes("tank/b")))).toEqual([]);
});

test("protect_bases naming a dataset twice is bad_request and runs no zfs", async () => {
  await using b1 = await session("b1");
  const args = { bases: [{ dataset: "tank/a", snapshot: S1 }, { dataset: "tank/a", snapshot: S2 }] };
  expect(await refusal(b1.callValue(ENDPOINTS.protectBases, args, protectBasesResponse))).toEqual({ status: "bad_request", message: '"tank/a" is named twice: a dataset has one incremental base' });
  expect(zfsCommands()).toEqual([]);
});

test("protect_bases of received datasets without a receive_root fails each base and runs no zfs", async () => {
  await using b1 = await session("b1");
  const { results } = await b1.callValue(ENDPOINTS.protectBases, { bases: [{ dataset: "tank/a", snapshot: S1 }], received: true }, protectBasesResponse);
  expect(results).toEqual([{ dataset: "tank/a", error: { status: "permission_denied", message: 'Client "b1" may not push: no receive_root is configured for it' } }]);
  expect(zfsCommands()).toEqual([]);
});

test("prune_datasets reads the hold counts of every dataset in one listing and destroys each dataset's in one zfs destroy", async () => {
  await using b1 = await session("b1");
  await Bun.$`${fake.bin} hold other-tool tank/a@${S2}`.quiet();
  const gone = "zferry_20200101T000000Z";
  const { results } = await b1.callValue(
    ENDPOINTS.pruneDatasets,
    { datasets: [{ dataset: "tank/a", snapshots: [S2, S1, gone] }, { dataset: "tank/a/c", snapshots: [S1] }, { dataset: "tank/a/secret", snapshots: [S1] }] },
    pruneDatasetsResponse,
  );
  expect(results).toEqual([
    { dataset: "tank/a", destroyed: [S1], kept: [{ name: S2, reason: "held" }, { name: gone, reason: "not found" }] },
    { dataset: "tank/a/c", destroyed: [S1], kept: [] },
    { dataset: "tank/a/secret", error: { status: "permission_denied", message: 'Dataset "tank/a/secret" is not allowed for client "b1"' } },
  ]);
  expect([snapshotsOf("tank/a"), snapshotsOf("tank/a/c"), snapshotsOf("tank/a/secret")]).toEqual([["manual", S2, S3].sort(), [S2], [S1]]);
  // The hold above, one listing of both datasets, and one destroy each (nothing of the one outside the ACL).
  const commands = zfsCommands();
  expect(commands.map((c) => c[0]).sort()).toEqual(["destroy", "destroy", "hold", "list"]);
  expect(commands.filter((c) => c[0] === "list").map((c) => c.slice(-2))).toEqual([["tank/a", "tank/a/c"]]);
  expect(commands.filter((c) => c[0] === "destroy").map((c) => c.at(-1)).sort()).toEqual([`tank/a/c@${S1}`, `tank/a@${S1}`].sort());
});

test.each([
  ["b2", { datasets: [{ dataset: "tank/a", snapshots: [S1] }] }, "permission_denied", 'Client "b2" may not prune: its [clients] entry has no prune = true'],
  ["b1", { datasets: [{ dataset: "tank/a", snapshots: [S1] }, { dataset: "tank/a", snapshots: [S2] }] }, "bad_request", '"tank/a" is named twice: one dataset, one list of snapshots'],
] as const)("prune_datasets as %s of %j is refused whole and runs no zfs", async (identity, args, status, message) => {
  await using rpc = await session(identity);
  expect(await refusal(rpc.callValue(ENDPOINTS.pruneDatasets, args, pruneDatasetsResponse))).toEqual({ status, message });
  expect(zfsCommands()).toEqual([]);
});

test("prune_datasets: a name without the prefix fails its dataset alone, and nothing of it is destroyed", async () => {
  await using b1 = await session("b1");
  const { results } = await b1.callValue(ENDPOINTS.pruneDatasets, { datasets: [{ dataset: "tank/a", snapshots: [S1, "manual"] }, { dataset: "tank/a/c", snapshots: [S1] }] }, pruneDatasetsResponse);
  expect(results).toEqual([
    { dataset: "tank/a", error: { status: "permission_denied", message: 'Cannot prune "tank/a@manual": client "b1" may only destroy snapshots named zferry_…' } },
    { dataset: "tank/a/c", destroyed: [S1], kept: [] },
  ]);
  expect([snapshotsOf("tank/a"), snapshotsOf("tank/a/c")]).toEqual([[S1, S2, S3, "manual"].sort(), [S2]]);
});

/** The zfs commands run so far, without the capability probe (a bare `zfs`). */
function zfsCommands(): string[][] {
  return fake.calls().filter((c) => c.length > 0);
}
