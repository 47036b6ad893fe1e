/**
 * A real OpenSSH `sshd` for integration tests: foreground (`-D -e`), on 127.0.0.1 and a free port,
 * in its own temp dir with its own host key, client keys and authorized_keys. Each authorized_keys
 * line gets its own client key, because sshd uses the first line whose key matches.
 *
 * sshd clears the environment of a forced command, and `restrict` disables `environment=`, so put
 * variables into the command itself: `env ZFERRY_CONFIG=/x /path/bun /path/cli.ts stdinserver b1`.
 *
 * Needs root (sshd must own its privilege separation and switch to the login user).
 *
 * @example
 * await using sshd = await startSshd([{ command: "echo hello" }]);
 * const proc = Bun.spawn(sshd.sshArgv(), { stdout: "pipe" });
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.ts";

export const SSHD_PATH = "/usr/sbin/sshd";

/** One authorized_keys line: the forced command and its options (default `restrict`; "" for none). */
export interface AuthorizedCommand {
  readonly command: string;
  readonly options?: string;
}

/** A running sshd; disposing it stops sshd and removes its directory. */
export interface Sshd extends AsyncDisposable {
  readonly port: number;
  /** sshd's process id; it alone holds the listening socket. */
  readonly pid: number;
  readonly dir: string;
  /** Private key of the first authorized_keys line. */
  readonly clientKeyPath: string;
  /** Private key of each authorized_keys line, in order. */
  readonly clientKeyPaths: readonly string[];
  readonly knownHostsPath: string;
  /**
   * argv that logs in as root with the key of line `key` (default 0); `extra` follows the
   * destination, where a remote command would go (the forced command runs instead).
   */
  sshArgv(extra?: readonly string[], options?: { key?: number }): string[];
  /** The same login as a `connect` table for a zferry config (the TOML contract's keys). */
  sshConnect(key?: number): SshConnectTable;
  /** What sshd has written to stderr so far (the last 64 KiB). */
  log(): string;
}

export interface SshConnectTable {
  type: "ssh";
  host: string;
  user: string;
  port: number;
  identity_file: string;
  options: string[];
  sessions_per_connection?: number;
}

/** True when this process can start sshd: root, and the binary is installed. */
export function canRunSshd(): boolean {
  try {
    return process.getuid?.() === 0 && Bun.file(SSHD_PATH).size > 0;
  } catch {
    return false;
  }
}

/**
 * Starts sshd and resolves once it accepts TCP connections.
 * @param options.config more sshd_config lines (e.g. `MaxSessions 1`)
 * @throws Error with sshd's log when it exits or does not listen within `timeoutMs`
 */
export async function startSshd(lines: readonly AuthorizedCommand[], options: { timeoutMs?: number; config?: readonly string[] } = {}): Promise<Sshd> {
  const { timeoutMs = 20_000, config = [] } = options;
  if (lines.length === 0) throw new RangeError("startSshd needs at least one authorized_keys line");
  // sshd refuses to start without its privilege separation directory.
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), "zferry-sshd-"));
  try {
    const hostKey = join(dir, "ssh_host_ed25519_key");
    keygen(hostKey, "zferry-test-host");
    const clientKeyPaths = lines.map((_, i) => {
      const key = join(dir, `client_${i}_ed25519`);
      keygen(key, `zferry-test-client-${i}`);
      return key;
    });
    const authorizedKeys = join(dir, "authorized_keys");
    writeFileSync(authorizedKeys, lines.map((line, i) => authorizedKeysLine(line, publicKey(clientKeyPaths[i] as string))).join(""), { mode: 0o600 });

    // A port from the kernel can be taken again before sshd binds it: then sshd exits and we retry.
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 1; ; attempt++) {
      const port = freePort();
      const started = await launch({ dir, port, hostKey, authorizedKeys, deadline, config });
      if (started.ok) return harness({ dir, port, hostKey, clientKeyPaths, ...started });
      if (!started.bindFailed || attempt >= 5) throw new Error(`sshd did not start: ${started.reason}\n${started.log}`);
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

// --- internal ---

type Launch =
  | { ok: true; proc: Bun.Subprocess<"ignore", "ignore", "pipe">; log: () => string }
  | { ok: false; bindFailed: boolean; reason: string; log: string };

async function launch(args: { dir: string; port: number; hostKey: string; authorizedKeys: string; deadline: number; config: readonly string[] }): Promise<Launch> {
  const { dir, port, hostKey, authorizedKeys, deadline, config } = args;
  const configPath = join(dir, "sshd_config");
  writeFileSync(
    configPath,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      "PermitRootLogin forced-commands-only",
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "StrictModes no",
      "UsePAM no",
      "UseDNS no",
      "PrintMotd no",
      "X11Forwarding no",
      "AllowTcpForwarding no",
      // Tests open many connections at once; the default 10:30:100 drops some of them.
      "MaxStartups 100:30:200",
      "LogLevel INFO",
      ...config,
      "",
    ].join("\n"),
  );
  const proc = Bun.spawn([SSHD_PATH, "-D", "-e", "-f", configPath], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const log = drain(proc.stderr);
  const exited = proc.exited.then((code) => ({ exited: code }));
  for (let backoffMs = 5; ; backoffMs = Math.min(backoffMs * 2, 100)) {
    const outcome = await Promise.race([exited, tryConnect(port).then((connected) => ({ connected }))]);
    if ("exited" in outcome) {
      const text = await log.done;
      return { ok: false, bindFailed: /Bind to port|Address already in use|Cannot bind/.test(text), reason: `exited with ${outcome.exited}`, log: text };
    }
    // Connected to *our* sshd only if it has said so; otherwise another process holds the port.
    if (outcome.connected && log.listening()) return { ok: true, proc, log: log.text };
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      await proc.exited;
      return { ok: false, bindFailed: false, reason: "not listening in time", log: log.text() };
    }
    // Poll interval while sshd starts up, cut short when it exits.
    await Promise.race([exited, Bun.sleep(backoffMs)]);
  }
}

function harness(args: {
  dir: string;
  port: number;
  hostKey: string;
  clientKeyPaths: string[];
  proc: Bun.Subprocess<"ignore", "ignore", "pipe">;
  log: () => string;
}): Sshd {
  const { dir, port, hostKey, clientKeyPaths, proc, log } = args;
  const knownHostsPath = join(dir, "known_hosts");
  writeFileSync(knownHostsPath, `[127.0.0.1]:${port} ${publicKey(hostKey)}\n`);
  const keyAt = (key = 0): string => {
    const path = clientKeyPaths[key];
    if (path === undefined) throw new RangeError(`No client key ${key}: sshd has ${clientKeyPaths.length} authorized_keys lines`);
    return path;
  };
  const clientOptions = [`UserKnownHostsFile=${knownHostsPath}`, "StrictHostKeyChecking=yes", "IdentitiesOnly=yes"];
  let disposed = false;
  return {
    port,
    pid: proc.pid,
    dir,
    clientKeyPath: keyAt(0),
    clientKeyPaths,
    knownHostsPath,
    sshArgv(extra = [], options = {}) {
      const optionArgs = ["BatchMode=yes", ...clientOptions].flatMap((o) => ["-o", o]);
      // -F /dev/null: no ~/.ssh/config or /etc/ssh/ssh_config of the machine running the tests.
      return ["ssh", "-F", "/dev/null", "-T", ...optionArgs, "-p", String(port), "-i", keyAt(options.key), "root@127.0.0.1", ...extra];
    },
    sshConnect(key = 0) {
      return { type: "ssh", host: "127.0.0.1", user: "root", port, identity_file: keyAt(key), options: [...clientOptions] };
    },
    log,
    async [Symbol.asyncDispose]() {
      if (disposed) return;
      disposed = true;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
      await proc.exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function authorizedKeysLine(line: AuthorizedCommand, publicKeyText: string): string {
  const { command, options = "restrict" } = line;
  if (/[\r\n]/.test(command) || /[\s\r\n]/.test(options)) throw new TypeError(`authorized_keys entries must be one line: ${JSON.stringify(line)}`);
  // sshd's option parser un-escapes only \" inside a quoted option value.
  const quoted = `command="${command.replaceAll('"', '\\"')}"`;
  return `${options === "" ? quoted : `${quoted},${options}`} ${publicKeyText}\n`;
}

function keygen(path: string, comment: string): void {
  const result = Bun.spawnSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`ssh-keygen for ${path} exited ${result.exitCode}: ${result.stderr.toString()}`);
}

/** `ssh-ed25519 AAAA…` without the comment. */
function publicKey(privateKeyPath: string): string {
  return readFileSync(`${privateKeyPath}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
}

async function tryConnect(port: number): Promise<boolean> {
  try {
    const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    socket.end();
    return true;
  } catch {
    return false;
  }
}

/** Reads a stream to the end, keeping the last 64 KiB, and notes when sshd reports it is listening. */
function drain(stream: ReadableStream<Uint8Array>): { text: () => string; listening: () => boolean; done: Promise<string> } {
  const decoder = new TextDecoder();
  let text = "";
  let listening = false;
  const done = (async () => {
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      if (!listening && text.includes("Server listening on")) listening = true;
      if (text.length > 65_536) text = text.slice(-65_536);
    }
    return text;
  })();
  return { text: () => text, listening: () => listening, done };
}
