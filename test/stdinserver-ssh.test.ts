/**
 * stdinserver as an SSH forced command: real OpenSSH sshd on 127.0.0.1, real zfs-fuse pools, and
 * the fake OpenZFS zfs where zfs-fuse cannot show a behaviour (a send failing mid-stream, resume
 * tokens). Every request goes through `ssh` and the authorized_keys `command=` line.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RemoteSession } from "../src/client/remote.ts";
import { RpcClient, RpcConnection, RpcError, StreamError, type ErrorStatus, type OctetProducer } from "../src/rpc/index.ts";
import { closeQuietly } from "../src/sys/pipe.ts";
import { spawnChildDuplex, type ChildDuplex } from "../src/transport/index.ts";
import { parseDatasetName, startZfsRecv, startZfsSend, zfsChildError, type DatasetName } from "../src/zfs/index.ts";
import { createFakeZfs, type FakeZfs } from "./fake-zfs/fixture.ts";
import { encodeToken } from "./fake-zfs/token.ts";
import { createTestPool, ensureZfsFuse, readFiles, writeFiles, zfsCli, type TestPool } from "./harness/pool.ts";
import { startSshd, type Sshd } from "./harness/sshd.ts";

const REPO = join(import.meta.dir, "..");
const BUN = process.execPath;

let pool: TestPool;
let sshd: Sshd;
let fake: FakeZfs;
let dir: string;
let P: string;
const KEY = { backup1: 0, nobody: 1, flagsok: 2, failing: 3, fakeacl: 4 } as const;

beforeAll(async () => {
  const status = await ensureZfsFuse();
  if (!status.ok) throw new Error(`zfs-fuse is not usable: ${status.reason}`);
  pool = await createTestPool("zsrv");
  P = pool.name;
  dir = mkdtempSync(join(tmpdir(), "zferry-srv-"));
  for (const ds of ["data", "data/sub", "data/scratch", "data2", "secret", "sink", "sink/backup1", "restore"]) {
    await zfsCli(["create", `${P}/${ds}`]);
  }
  await zfsCli(["set", `mountpoint=${pool.mountpoint}/data`, `${P}/data`]);
  writeFiles(`${pool.mountpoint}/data`, { "a.txt": "alpha\n", "dir/b.bin": new Uint8Array(300_000).map((_, i) => (i * 7) & 255) });
  writeFiles(`${pool.mountpoint}/data/sub`, { "c.txt": "sub one\n" });
  await zfsCli(["snapshot", "-r", `${P}/data@s1`]);
  writeFiles(`${pool.mountpoint}/data`, { "a.txt": "alpha v2\n", "new.txt": "added in s2\n" });
  await zfsCli(["snapshot", "-r", `${P}/data@s2`]);
  await zfsCli(["snapshot", `${P}/secret@s1`]);
  await zfsCli(["snapshot", `${P}/data2@s1`]);

  const realConfig = join(dir, "server.toml");
  writeFileSync(
    realConfig,
    `[log]\nlevel = "info"\nfile = "${join(dir, "server.log")}"\n\n` +
      `[clients.backup1]\nfilesystems = { "${P}/data<" = true, "${P}/data/scratch<" = false }\nreceive_root = "${P}/sink/backup1"\n\n` +
      `[clients.flagsok]\nfilesystems = { "${P}/data<" = true }\nsend_flags = ["compressed"]\n`,
  );
  fake = createFakeZfs({ datasets: ["tank/a@s1", "tank/secret@s1"], env: { FAKE_ZFS_SEND_BYTES: String(4 << 20), FAKE_ZFS_FAIL_AFTER: "1500000" } });
  const fakeConfig = join(dir, "fake.toml");
  writeFileSync(fakeConfig, `[zfs]\nbin = "${fake.bin}"\n\n[clients.failing]\nfilesystems = { "tank/a<" = true }\nsend_flags = ["compressed"]\n`);
  const server = (config: string, id: string) => `env ZFERRY_CONFIG=${config} ${BUN} ${REPO}/src/cli.ts stdinserver ${id}`;
  sshd = await startSshd([
    { command: server(realConfig, "backup1") },
    { command: server(realConfig, "nobody") },
    { command: server(realConfig, "flagsok") },
    { command: server(fakeConfig, "failing") },
    { command: server(fakeConfig, "failing") },
  ]);
});

afterAll(async () => {
  await sshd?.[Symbol.asyncDispose]();
  await pool?.[Symbol.asyncDispose]();
  fake?.[Symbol.dispose]();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function session(key: number): Promise<{ remote: RemoteSession; child: ChildDuplex }> {
  const child = spawnChildDuplex(sshd.sshArgv([], { key }), { label: "ssh" });
  const conn = await RpcConnection.open(child, { software: "zferry/test" });
  return { remote: new RemoteSession(new RpcClient(conn)), child };
}

const ds = (name: string) => parseDatasetName(name);

/** Receives a send into a local dataset with real `zfs recv`; returns the recv error or null. */
async function sendInto(remote: RemoteSession, args: Parameters<RemoteSession["send"]>[0], target: string) {
  const recv = startZfsRecv("zfs", ["receive", target]);
  try {
    const got = await remote.send(args, { fd: recv.writeFd });
    closeQuietly(recv.writeFd);
    return { got, recvError: zfsChildError(recv.argv, await recv.done()) };
  } catch (err) {
    closeQuietly(recv.writeFd);
    await recv.kill();
    throw err;
  }
}

describe("stdinserver over sshd on zfs-fuse", () => {
  test("list_filesystems shows exactly the datasets the identity may read", async () => {
    const { remote } = await session(KEY.backup1);
    const names = (await remote.listFilesystems()).map((f) => f.name).sort();
    expect(names).toEqual([`${P}/data`, `${P}/data/sub`]);
    await remote.close();
  });

  test("a full and an incremental send are accepted by zfs recv and the files match the source", async () => {
    const { remote } = await session(KEY.backup1);
    const versions = await remote.listVersions(ds(`${P}/data`));
    expect(versions.map((v) => v.name)).toEqual(["s1", "s2"]);
    const local = await zfsCli(["get", "-Hp", "-o", "value", "guid", `${P}/data@s1`]);
    expect(versions[0]!.guid).toBe(BigInt(local.trim())); // exact 64-bit GUID through CBOR

    const target = `${P}/restore/data`;
    const full = await sendInto(remote, { dataset: ds(`${P}/data`), to: "s1" as never, to_guid: versions[0]!.guid }, target);
    expect(full.recvError).toBeNull();
    expect(full.got.bytes).toBeGreaterThan(300_000);
    await zfsCli(["set", "readonly=on", target]); // reading after mount would otherwise count as a change
    const inc = await sendInto(remote, { dataset: ds(`${P}/data`), to: "s2" as never, from: { name: "s1" as never, kind: "snapshot" }, from_guid: versions[0]!.guid }, target);
    expect(inc.recvError).toBeNull();
    await zfsCli(["set", `mountpoint=${pool.mountpoint}/restored`, target]);
    // zfs-fuse has no .zfs/snapshot; the live tree is unchanged since s2 (children are other datasets)
    const live = Object.fromEntries(Object.entries(readFiles(`${pool.mountpoint}/data`)).filter(([k]) => !k.startsWith("sub/")));
    expect(readFiles(`${pool.mountpoint}/restored`)).toEqual(live);
    expect(Object.keys(live).sort()).toEqual(["a.txt", "dir/b.bin", "new.txt"]);
    const received = (await zfsCli(["get", "-Hp", "-o", "value", "guid", `${target}@s2`])).trim();
    expect(BigInt(received)).toBe(versions[1]!.guid);
    await remote.close();
  });

  test.each<[string, () => { dataset: string }, ErrorStatus, string]>([
    ["a denied dataset", () => ({ dataset: `${P}/secret` }), "permission_denied", `Dataset "${"%P"}/secret" is not allowed for client "backup1"`],
    ["a dataset that does not exist", () => ({ dataset: `${P}/nonexistent` }), "permission_denied", `Dataset "${"%P"}/nonexistent" is not allowed`],
    ["a sibling-prefix escape", () => ({ dataset: `${P}/data2` }), "permission_denied", `Dataset "${"%P"}/data2" is not allowed`],
    ["a denied subtree inside an allowed one", () => ({ dataset: `${P}/data/scratch` }), "permission_denied", "is not allowed"],
    ["a .. component", () => ({ dataset: `${P}/data/../secret` }), "bad_request", 'component ".." is not allowed'],
    ["a leading -", () => ({ dataset: `-${P}/data` }), "bad_request", "must begin with a letter"],
    ["a newline", () => ({ dataset: `${P}/da\nta` }), "bad_request", 'character "\\n" is not allowed'],
    ["a space (valid in ZFS, allowed by the ACL, absent)", () => ({ dataset: `${P}/data/a b` }), "not_found", "dataset does not exist"],
  ])("list_versions refuses %s", async (_label, args, status, message) => {
    const { remote } = await session(KEY.backup1);
    const err = await remote.rpc.callValue("list_versions", args(), (x: unknown) => x).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).status).toBe(status);
    expect((err as RpcError).message).toContain(message.replace("%P", P));
    await remote.close();
  });

  test.each<[string, Record<string, unknown>, ErrorStatus, string]>([
    ["a snapshot of a denied dataset named through -i", { from: { name: `${"%P"}/secret@s1`, kind: "snapshot" } }, "bad_request", '"args.from.name": Invalid snapshot name'],
    ["a send flag outside send_flags", { flags: ["properties"] }, "permission_denied", 'Send flag "properties" is not allowed for client "backup1"'],
    ["a missing snapshot", { to: "nope" }, "not_found", "does not exist"],
    ["a replaced snapshot (GUID mismatch)", { to_guid: 12345n }, "conflict", "it was replaced"],
    ["an unknown argument", { extra: 1 }, "bad_request", '"args.extra": unknown field'],
  ])("send refuses %s", async (_label, extra, status, message) => {
    const { remote } = await session(KEY.backup1);
    const fixed = JSON.parse(JSON.stringify(extra, (_k, v) => (typeof v === "bigint" ? `__big${v}` : typeof v === "string" ? v.replace("%P", P) : v)), (_k, v) =>
      typeof v === "string" && v.startsWith("__big") ? BigInt(v.slice(5)) : v,
    );
    const err = await remote.rpc.callOctets("send", { dataset: `${P}/data`, to: "s2", ...fixed }, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).status).toBe(status);
    expect((err as RpcError).message).toContain(message.replace("%P", P));
    await remote.close();
  });

  test("a send flag allowed by the ACL but missing from zfs-fuse is reported as unsupported", async () => {
    const { remote } = await session(KEY.flagsok);
    const err = await remote.send({ dataset: ds(`${P}/data`), to: "s1" as never, flags: ["compressed"] }, () => {}).catch((e) => e);
    expect(err).toMatchObject({ status: "unsupported" });
    expect((err as Error).message).toContain("does not support");
    await remote.close();
  });

  test("an unknown identity is one clear line on stderr and a non-zero exit", async () => {
    const child = spawnChildDuplex(sshd.sshArgv([], { key: KEY.nobody }), { label: "ssh" });
    const err = await RpcConnection.open(child, { software: "zferry/test" }).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(await child.exited).not.toBe(0);
    expect(child.diagnostics!()).toContain('Unknown client identity "nobody"');
    expect(child.diagnostics!()).not.toMatch(/\n\s+at /); // no stack trace
    await child.close();
  });

  test("a client killed mid-stream leaves no zfs send behind", async () => {
    await zfsCli(["create", `${P}/data/big`]);
    await zfsCli(["set", `mountpoint=${pool.mountpoint}/big`, `${P}/data/big`]);
    writeFileSync(`${pool.mountpoint}/big/blob`, crypto.getRandomValues(new Uint8Array(48 << 20)).map((x) => x)); // incompressible, 48 MiB
    await zfsCli(["snapshot", `${P}/data/big@s1`]);
    const { remote, child } = await session(KEY.backup1);
    let seen = 0;
    const killed = Promise.withResolvers<void>();
    const call = remote
      .send({ dataset: ds(`${P}/data/big`), to: "s1" as never }, () => {
        // First bytes arrived: the server is mid-stream. Kill the ssh client and stall.
        if (seen++ === 0) {
          process.kill(child.pid, "SIGKILL");
          killed.resolve();
        }
        return new Promise<void>(() => {});
      })
      .catch((e) => e);
    await killed.promise;
    const gone = await waitFor(async () => !(await pgrep(`send ${P}/data/big@s1`)), 1_000);
    expect(gone).toBe(true);
    void call;
    await child.close();
  });

  test("every request is logged with identity, endpoint, dataset, bytes, duration and outcome", () => {
    const log = readFileSync(join(dir, "server.log"), "utf8");
    expect(log).toMatch(new RegExp(`identity="backup1" endpoint=send dataset="${P}/data" to="s1" bytes=\\d+ duration_ms=\\d+ status=ok`));
    expect(log).toMatch(/endpoint=list_versions .*status=permission_denied message=/);
  });
});

describe("stdinserver receive (push) over sshd on zfs-fuse", () => {
  function localSend(snapshot: string, cut?: number, from?: string): OctetProducer {
    const proc = startZfsSend("zfs", from ? ["send", "-i", from, snapshot] : ["send", snapshot]);
    if (cut === undefined) {
      return {
        source: { fd: proc.readFd },
        abort: () => void proc.kill(),
        finish: async () => {
          const r = await proc.done();
          closeQuietly(proc.readFd);
          return zfsChildError(proc.argv, r)?.message ?? null;
        },
      };
    }
    // A stream that fails after `cut` bytes, as a dying `zfs send` would.
    return {
      source: (async function* () {
        const { readSync } = await import("node:fs");
        const buf = new Uint8Array(cut);
        let n = 0;
        while (n < cut) {
          const k = readSync(proc.readFd, buf, n, cut - n, null);
          if (k === 0) break;
          n += k;
        }
        yield buf.subarray(0, n);
      })(),
      abort: () => void proc.kill(),
      finish: async () => {
        await proc.kill();
        closeQuietly(proc.readFd);
        return "simulated: zfs send died";
      },
    };
  }

  test("a push lands under receive_root with placeholders for its parents, and never overwrites", async () => {
    const { remote } = await session(KEY.backup1);
    const guids = await remote.listVersions(ds(`${P}/data`));
    const res = await remote.receive({ dataset: ds(`${P}/data`), snapshot: "s1" as never }, localSend(`${P}/data@s1`));
    expect(res).toEqual({ target: `${P}/sink/backup1/${P}/data`, guid: guids[0]!.guid });
    expect((await zfsCli(["get", "-H", "-o", "value", "zferry:placeholder", `${P}/sink/backup1/${P}`])).trim()).toBe("on");
    const inc = await remote.receive({ dataset: ds(`${P}/data`), snapshot: "s2" as never, from_guid: guids[0]!.guid }, localSend(`${P}/data@s2`, undefined, `${P}/data@s1`));
    expect(inc.guid).toBe(guids[1]!.guid);
    const received = await remote.listReceived();
    expect(received).toContainEqual({ name: `${P}/data` });
    expect(received).toContainEqual({ name: P, placeholder: true });

    const again = await remote.receive({ dataset: ds(`${P}/data`), snapshot: "s1" as never }, localSend(`${P}/data@s1`)).catch((e) => e);
    expect(again).toMatchObject({ status: "conflict" });
    expect((again as Error).message).toContain("does not overwrite");
    const stale = await remote
      .receive({ dataset: ds(`${P}/data`), snapshot: "s2" as never, from_guid: guids[0]!.guid }, localSend(`${P}/data@s2`, undefined, `${P}/data@s1`))
      .catch((e) => e);
    expect(stale).toMatchObject({ status: "conflict" });
    expect((stale as Error).message).toContain("diverged");
    await remote.close();
  });

  test("a push whose stream fails mid-way leaves no dataset behind", async () => {
    const { remote } = await session(KEY.backup1);
    const err = await remote.receive({ dataset: ds(`${P}/data/sub`), snapshot: "s1" as never }, localSend(`${P}/data/sub@s1`, 3_000)).catch((e) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect((err as Error).message).toContain("simulated: zfs send died");
    const exists = await zfsCli(["list", "-H", "-o", "name", `${P}/sink/backup1/${P}/data/sub`]).then(() => true, () => false);
    expect(exists).toBe(false);
    await remote.close();
  });

  test("an identity without receive_root may not push", async () => {
    const { remote } = await session(KEY.flagsok);
    const err = await remote.receive({ dataset: ds(`${P}/data`), snapshot: "s1" as never }, localSend(`${P}/data@s1`)).catch((e) => e);
    expect(err).toMatchObject({ status: "permission_denied" });
    expect((err as Error).message).toContain("no receive_root");
    await remote.close();
  });
});

describe("stdinserver over sshd with the fake OpenZFS zfs", () => {
  test("zfs send failing mid-stream: its stderr reaches the client in the trailer", async () => {
    const { remote } = await session(KEY.failing);
    const err = await remote.send({ dataset: ds("tank/a"), to: "s1" as never }, () => {}).catch((e) => e);
    expect(err).toBeInstanceOf(StreamError);
    expect((err as StreamError).message).toMatch(/zfs exited 1: .+/);
    expect((err as StreamError).bytes).toBeGreaterThan(0);
    // the connection survives a failed stream
    expect((await remote.listVersions(ds("tank/a"))).map((v) => v.name)).toEqual(["s1"]);
    await remote.close();
  });

  test("a crafted resume token naming a denied dataset is refused before zfs send runs", async () => {
    const { remote } = await session(KEY.fakeacl);
    const secret = fake.state().datasets["tank/secret"]!.snapshots["s1"]!;
    const token = encodeToken([
      ["object", { type: "uint64", value: 1n }],
      ["offset", { type: "uint64", value: 0n }],
      ["bytes", { type: "uint64", value: 0n }],
      ["toguid", { type: "uint64", value: BigInt(secret.guid) }],
      ["toname", { type: "string", value: "tank/secret@s1" }],
    ]);
    const before = fake.calls().length;
    const err = await remote.resumeSend(token, [], () => {}).catch((e) => e);
    expect(err).toMatchObject({ status: "permission_denied" });
    expect((err as Error).message).toContain('Dataset "tank/secret" is not allowed');
    const sends = fake.calls().slice(before).filter((argv) => argv[0] === "send" && argv.includes("-t"));
    expect(sends.filter((argv) => !argv.includes("-n") && !argv.includes("-nvt"))).toEqual([]);
    await remote.close();
  });
});

async function pgrep(pattern: string): Promise<boolean> {
  const p = Bun.spawn(["pgrep", "-f", pattern], { stdout: "pipe" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  return out.trim().length > 0;
}

async function waitFor(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await Bun.sleep(25);
  }
  return cond();
}

export type { DatasetName };
