/**
 * `zferry stdinserver` before it serves: every setup problem is one line on stderr, a non-zero
 * exit, and nothing on stdout except protocol bytes.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sendArgs } from "../src/api/index.ts";
import { RemoteSession } from "../src/client/remote.ts";
import { PeerResetError, RpcClient, RpcConnection } from "../src/rpc/index.ts";
import { spawnChildDuplex } from "../src/transport/index.ts";
import { createFakeZfs } from "./fake-zfs/fixture.ts";

const CLI = join(import.meta.dir, "../src/cli.ts");
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "zferry-cli-"));
  writeFileSync(join(dir, "ok.toml"), `[clients.b1]\nfilesystems = { "tank<" = true }\n`);
  writeFileSync(join(dir, "nozfs.toml"), `[zfs]\nbin = "/nonexistent/zfs"\n\n[clients.b1]\nfilesystems = { "tank<" = true }\n`);
  writeFileSync(join(dir, "typo.toml"), `[clients.b1]\nfilesytems = { "tank<" = true }\n`);
  writeFileSync(join(dir, "syntax.toml"), `[clients.b1\nfilesystems = {}\n`);
  writeFileSync(join(dir, "pattern.toml"), `[clients.b1]\nfilesystems = { "tank/../x<" = true }\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runServer(args: string[], stdin = "") {
  const proc = Bun.spawn([process.execPath, CLI, "stdinserver", ...args], { stdin: new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).bytes(), new Response(proc.stderr).text()]);
  return { code, stdout, stderr };
}

test.each([
  ["an unknown identity", ["nobody", "--config", "ok.toml"], 'Unknown client identity "nobody"'],
  ["a missing config file", ["b1", "--config", "missing.toml"], "cannot read config file"],
  ["a misspelt key", ["b1", "--config", "typo.toml"], "clients.b1.filesytems"],
  ["a TOML syntax error", ["b1", "--config", "syntax.toml"], "syntax.toml:"],
  ["a malformed pattern", ["b1", "--config", "pattern.toml"], 'clients.b1.filesystems."tank/../x<"'],
  ["a missing identity argument", ["--config", "ok.toml"], "Missing required positional argument"],
])("stdinserver refuses %s with one line on stderr, exit 2 and an empty stdout", async (_label, args, message) => {
  const fixed = args.map((a) => (a.endsWith(".toml") ? join(dir, a) : a));
  const { code, stdout, stderr } = await runServer(fixed);
  expect(code).toBe(2);
  expect(stdout.length).toBe(0);
  expect(stderr).toContain(message);
  expect(stderr.trim().split("\n").filter((l) => !l.startsWith("Run `zferry")).length).toBe(1);
  expect(stderr).not.toMatch(/\n\s+at /);
});

test("a missing zfs binary reaches the client as a connection RESET with the reason, and exit 2", async () => {
  const child = spawnChildDuplex([process.execPath, CLI, "stdinserver", "b1", "--config", join(dir, "nozfs.toml")]);
  const conn = await RpcConnection.open(child, { software: "zferry/test" });
  const err = await new RpcClient(conn).callNone("info", undefined).catch((e) => e);
  expect(err).toBeInstanceOf(PeerResetError);
  expect((err as Error).message).toContain('The server cannot use zfs: zfs not found at "/nonexistent/zfs"');
  expect(await child.exited).toBe(2);
  expect(child.diagnostics!()).toContain("zfs not found");
  await child.close();
});

test("garbage instead of a handshake: the server says why on stderr and exits 1, writing only its own handshake", async () => {
  const { code, stdout, stderr } = await runServer(["b1", "--config", join(dir, "ok.toml")], "Welcome to Ubuntu 24.04\n");
  expect(code).toBe(1);
  expect(new TextDecoder().decode(stdout)).toBe("ZFERRY 1 zferry/0.1.0\n");
  expect(stderr).toContain('got "Welcome to Ubuntu');
});

test("where pipes cannot be looked into (no bun:ffi, here with the JIT off), a send is checked on a listing before it starts, and answers as usual", async () => {
  using fake = createFakeZfs({ datasets: ["tank/a@s1", "tank/a@s2"] });
  const file = join(dir, "fake.toml");
  writeFileSync(file, `[zfs]\nbin = ${JSON.stringify(fake.bin)}\n[clients.b1]\nfilesystems = { "tank<" = true }\n`);
  const child = spawnChildDuplex([process.execPath, CLI, "stdinserver", "b1", "--config", file], { env: { ...process.env, BUN_JSC_useJIT: "0" } });
  const remote = new RemoteSession(new RpcClient(await RpcConnection.open(child, { software: "zferry/test" })));
  try {
    const guid = BigInt(fake.state().datasets["tank/a"]!.snapshots.s2!.guid);
    const before = fake.calls().length;
    const sent = await remote.send(sendArgs({ dataset: "tank/a", to: "s2", to_guid: guid, from: { name: "s1", kind: "snapshot" } }, "args"), () => {});
    expect(sent).toMatchObject({ error: null });
    const calls = fake.calls().slice(before).filter((argv) => argv.length > 0); // not the capability probe
    expect(calls.map((argv) => argv[0])).toEqual(["list", "list", "send"]); // datasets (encryption), the versions, the send
    const err = await remote.send(sendArgs({ dataset: "tank/a", to: "s2", to_guid: 12345n }, "args"), () => {}).catch((e) => e);
    expect(err).toMatchObject({ status: "conflict", message: expect.stringContaining("it was replaced") });
  } finally {
    await remote.close();
    await child.close();
  }
});
