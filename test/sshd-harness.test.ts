import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { parseConfig } from "../src/config/index.ts";
import { canRunSshd, startSshd, type Sshd } from "./harness/sshd.ts";

/** Runs ssh with argv and returns what it printed and how it ended. */
async function ssh(argv: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  await using proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([proc.stdout.text(), proc.stderr.text(), proc.exited]);
  return { exitCode, stdout, stderr };
}

describe.skipIf(!canRunSshd())("startSshd (needs root and /usr/sbin/sshd)", () => {
  test("the forced command runs whatever the client asks for", async () => {
    await using sshd = await startSshd([{ command: "echo hello-from-forced" }]);
    expect(await ssh(sshd.sshArgv())).toEqual({ exitCode: 0, stdout: "hello-from-forced\n", stderr: "" });
    expect(await ssh(sshd.sshArgv(["ls", "/"]))).toEqual({ exitCode: 0, stdout: "hello-from-forced\n", stderr: "" });
  });

  test("each line has its own key and command, with quotes and env assignments passed through", async () => {
    await using sshd = await startSshd([
      { command: "echo first" },
      { command: `env ZFERRY_CONFIG=/x/y.toml sh -c 'echo "config=$ZFERRY_CONFIG asked=$SSH_ORIGINAL_COMMAND"'` },
    ]);
    expect(sshd.clientKeyPaths).toHaveLength(2);
    expect((await ssh(sshd.sshArgv([], { key: 0 }))).stdout).toBe("first\n");
    expect((await ssh(sshd.sshArgv(["zfs", "list"], { key: 1 }))).stdout).toBe("config=/x/y.toml asked=zfs list\n");
  });

  test("the exit code of the forced command reaches the client", async () => {
    await using sshd = await startSshd([{ command: "exit 7" }]);
    expect((await ssh(sshd.sshArgv())).exitCode).toBe(7);
  });

  test("a key that is not in authorized_keys is refused", async () => {
    await using sshd = await startSshd([{ command: "echo in" }]);
    const argv = sshd.sshArgv().map((arg) => (arg === sshd.clientKeyPath ? `${sshd.dir}/ssh_host_ed25519_key` : arg));
    const result = await ssh(argv);
    expect(result.exitCode).toBe(255);
    expect(result.stderr).toContain("Permission denied");
  });

  test("sshConnect describes the same login as a config connect table", async () => {
    await using sshd = await startSshd([{ command: "true" }]);
    expect(sshd.sshConnect()).toEqual({
      type: "ssh",
      host: "127.0.0.1",
      user: "root",
      port: sshd.port,
      identity_file: sshd.clientKeyPath,
      options: [`UserKnownHostsFile=${sshd.knownHostsPath}`, "StrictHostKeyChecking=yes", "IdentitiesOnly=yes"],
    });
    const config = parseConfig({ jobs: { j: { type: "pull", root: "pool/b", connect: sshd.sshConnect() } } }, "test.toml");
    expect(config.jobs.j?.connect).toMatchObject({ port: sshd.port, identityFile: sshd.clientKeyPath });
  });

  test("two servers run side by side on different ports", async () => {
    await using a = await startSshd([{ command: "echo a" }]);
    await using b = await startSshd([{ command: "echo b" }]);
    expect(a.port).not.toBe(b.port);
    expect([(await ssh(a.sshArgv())).stdout, (await ssh(b.sshArgv())).stdout]).toEqual(["a\n", "b\n"]);
  });

  test("dispose stops sshd and removes its directory", async () => {
    let sshd: Sshd | undefined;
    {
      await using started = await startSshd([{ command: "true" }]);
      sshd = started;
      expect(existsSync(sshd.dir)).toBe(true);
      expect(existsSync(`/proc/${sshd.pid}`)).toBe(true);
    }
    expect(existsSync(sshd.dir)).toBe(false);
    // The process is gone and reaped, and with it its listening socket. Connecting to the port
    // would not show that: the kernel may hand the freed port to another listener at once (the
    // OpenZFS guest's forward, booting beside the suite, takes one the same way).
    expect(existsSync(`/proc/${sshd.pid}`)).toBe(false);
  });

  test("an empty list of lines is a RangeError", async () => {
    await expect(startSshd([])).rejects.toThrow(RangeError);
  });
});
