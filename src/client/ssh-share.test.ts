import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import type { SshConnectConfig } from "../config/index.ts";
import { sshConnections } from "./ssh-share.ts";

const target = (o: Partial<SshConnectConfig> = {}): SshConnectConfig => ({
  type: "ssh",
  host: "prod.example",
  user: "root",
  port: 22,
  identityFile: undefined,
  options: [],
  handshakeTimeoutMs: 10_000,
  sessionsPerConnection: 2,
  ...o,
});

/** The ControlMaster and ControlPath values of one session's options. */
function placement(options: readonly string[]): { master: string; path: string } {
  const value = (key: string) => options.find((o) => o.startsWith(`${key}=`))?.slice(key.length + 1) ?? "";
  return { master: value("ControlMaster"), path: value("ControlPath") };
}

describe("sshConnections", () => {
  test("every sessions_per_connection sessions share one connection, whose first session is its master", async () => {
    using connections = sshConnections(target({ sessionsPerConnection: 2 }), 6)!;
    const seen = await Promise.all(Array.from({ length: 5 }, () => connections.session(async (o) => placement(o))));
    expect(seen.map((s) => s.master)).toEqual(["yes", "no", "yes", "no", "yes"]);
    const paths = seen.map((s) => s.path);
    expect(paths[1]).toBe(paths[0]!);
    expect(paths[3]).toBe(paths[2]!);
    expect(new Set([paths[0], paths[2], paths[4]]).size).toBe(3);
    for (const p of paths) expect(p).toEndWith("/%C");
  });

  test("a session waits for its connection's master to be up, and goes on when the master failed", async () => {
    using connections = sshConnections(target({ sessionsPerConnection: 3 }), 4)!;
    const order: string[] = [];
    let failMaster!: (err: Error) => void;
    const master = connections.session(
      (o) =>
        new Promise<string>((_, reject) => {
          order.push(`open ${placement(o).master}`);
          failMaster = reject;
        }),
    );
    const second = connections.session(async (o) => {
      order.push(`open ${placement(o).master}`);
      return "second";
    });
    await Bun.sleep(5);
    expect(order).toEqual(["open yes"]);
    failMaster(new Error("Connection refused"));
    await expect(master).rejects.toThrow("Connection refused");
    expect(await second).toBe("second");
    expect(order).toEqual(["open yes", "open no"]);
  });

  test("the sockets' directories go when the job's connections are disposed", async () => {
    const connections = sshConnections(target(), 4)!;
    const dirs = await Promise.all([1, 2, 3].map(() => connections.session(async (o) => placement(o).path.replace(/\/%C$/, ""))));
    for (const d of dirs) expect(existsSync(d)).toBe(true);
    connections[Symbol.dispose]();
    for (const d of dirs) expect(existsSync(d)).toBe(false);
  });

  test.each([
    ["one worker", target(), 1],
    ["one session per connection", target({ sessionsPerConnection: 1 }), 4],
    ["the job's own ControlMaster", target({ options: ["ControlMaster=auto"] }), 4],
    ["the job's own ControlPath", target({ options: ["controlpath=/run/ssh-%C"] }), 4],
  ] as const)("no sharing with %s", (_, t, concurrency) => {
    expect(sshConnections(t, concurrency)).toBeNull();
  });
});
