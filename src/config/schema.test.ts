import { describe, expect, test } from "bun:test";
import { parse } from "smol-toml";
import { ConfigError } from "./config-error.ts";
import { DatasetFilter } from "./filter.ts";
import { parseConfig } from "./schema.ts";
import type { Config } from "./types.ts";

const FILE = "/etc/zferry/zferry.toml";

const EXAMPLE = `
[zfs]
bin = "zfs"
[log]
level = "info"
file = "/var/log/zferry.log"
[server]
idle_timeout = "10m"
[locks]
dir = "/run/zferry"
[metrics]
textfile = "/var/lib/prometheus/node-exporter/zferry.prom"
[clients.backup1]
filesystems = { "tank/data<" = true, "tank/data/scratch<" = false, "tank/home" = true }
receive_root = "tank/sink/backup1"
receive = { properties = true, keep = ["exec", "sharenfs"] }
send_flags = ["raw", "compressed", "large_blocks", "embedded", "properties"]
send_decrypted = true

[jobs.prod]
type = "pull"
connect = { type = "ssh", host = "prod.example", user = "root", port = 22, identity_file = "/root/.ssh/id_zferry", options = ["Ciphers=aes128-gcm@openssh.com"], handshake_timeout = "30s", sessions_per_connection = 4 }
root = "pool/backups/prod"
filesystems = { "tank/data<" = true }
initial = "most_recent"
send = { raw = false, compressed = false, large_blocks = false, embedded = false, properties = false }
receive = { properties = false, keep = [] }
concurrency = 8
compression = { type = "zstd", level = 6, threads = 2, fallback = "none", force = true }
bandwidth_limit = "50MiB/s"

[jobs.offsite]
type = "push"
connect = { type = "local", identity = "backup1" }
filesystems = { "tank/data<" = true }
initial = "all"
send = { raw = true }
`;

/** A minimal valid base the error cases add to. */
const CLIENT = `[clients.b1]\nfilesystems = { "tank<" = true }\nreceive_root = "sink/b1"\n`;
const SSH = `connect = { type = "ssh", host = "h" }`;

function load(toml: string): Config {
  return parseConfig(parse(toml), FILE);
}

function loadError(toml: string): ConfigError {
  try {
    load(toml);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("parseConfig", () => {
  test("the example from the contract parses with every key", () => {
    const config = load(EXAMPLE);
    const actual: unknown = {
      ...config,
      clients: { backup1: { ...config.clients.backup1, filesystems: String(config.clients.backup1?.filesystems) } },
      jobs: {
        prod: { ...config.jobs.prod, filesystems: String(config.jobs.prod?.filesystems) },
        offsite: { ...config.jobs.offsite, filesystems: String(config.jobs.offsite?.filesystems) },
      },
    };
    expect(actual).toEqual({
      file: FILE,
      zfs: { bin: "zfs" },
      log: { level: "info", file: "/var/log/zferry.log" },
      server: { idleTimeoutMs: 600_000 },
      locks: { dir: "/run/zferry" },
      metrics: { textfile: "/var/lib/prometheus/node-exporter/zferry.prom" },
      clients: {
        backup1: {
          identity: "backup1",
          filesystems: '{ "tank/data<" = true, "tank/data/scratch<" = false, "tank/home" = true }',
          receiveRoot: "tank/sink/backup1",
          receive: { properties: true, keep: ["exec", "sharenfs"] },
          sendFlags: ["raw", "compressed", "large_blocks", "embedded", "properties"],
          sendDecrypted: true,
          snapshotPrefix: undefined,
          prune: false,
        },
      },
      jobs: {
        prod: {
          name: "prod",
          type: "pull",
          connect: { type: "ssh", host: "prod.example", user: "root", port: 22, identityFile: "/root/.ssh/id_zferry", options: ["Ciphers=aes128-gcm@openssh.com"], handshakeTimeoutMs: 30_000, sessionsPerConnection: 4 },
          root: "pool/backups/prod",
          filesystems: '{ "tank/data<" = true }',
          initial: "most_recent",
          send: { raw: false, compressed: false, large_blocks: false, embedded: false, properties: false },
          receive: { properties: false, keep: [] },
          concurrency: 8,
          compression: { type: "zstd", level: 6, threads: 2, fallback: "none", force: true },
          bandwidthLimit: 50 * 1024 * 1024,
        },
        offsite: {
          name: "offsite",
          type: "push",
          connect: { type: "local", identity: "backup1" },
          root: undefined,
          filesystems: '{ "tank/data<" = true }',
          initial: "all",
          send: { raw: true, compressed: false, large_blocks: false, embedded: false, properties: false },
          concurrency: 4,
          compression: { type: "none", level: 3, threads: 0, fallback: "error", force: false },
          bandwidthLimit: undefined,
        },
      },
    });
  });

  test.each([
    ['compression = "zstd"', { type: "zstd", level: 3, threads: 0, fallback: "error", force: false }],
    ['compression = "none"', { type: "none", level: 3, threads: 0, fallback: "error", force: false }],
    ['compression = { type = "zstd", level = 19 }', { type: "zstd", level: 19, threads: 0, fallback: "error", force: false }],
  ])("[jobs.j] %s", (line, compression) => {
    expect(load(`[jobs.j]\ntype = "pull"\nroot = "pool/b"\n${SSH}\n${line}\n`).jobs.j?.compression).toEqual(compression as never);
  });

  test.each([
    ['compression = "lz4"', 'jobs.j.compression: "lz4" is not one of: "none", "zstd"'],
    ['compression = { type = "zstd", level = 20 }', "jobs.j.compression.level: 20 is out of range 1..19"],
    ['compression = { type = "zstd", fallback = "maybe" }', 'jobs.j.compression.fallback: "maybe" is not one of: "error", "none"'],
    ['compression = { type = "none", level = 3 }', 'jobs.j.compression: type "none" takes no other keys'],
    ['bandwidth_limit = "50 mbit"', 'jobs.j.bandwidth_limit: invalid rate "50 mbit"'],
    ['bandwidth_limit = "1KiB/s"', 'jobs.j.bandwidth_limit: invalid rate "1KiB/s": must be at least 64KiB/s'],
  ])("[jobs.j] %s is refused", (line, message) => {
    expect(loadError(`[jobs.j]\ntype = "pull"\nroot = "pool/b"\n${SSH}\n${line}\n`).message).toContain(message);
  });

  test.each([
    ['"50MiB/s"', 50 * 1024 ** 2],
    ['"800KB/s"', 800_000],
    ['"1.5GiB/s"', 1.5 * 1024 ** 3],
    ["1000000", 1_000_000],
  ])("bandwidth_limit = %s → %d bytes/s", (text, bytes) => {
    expect(load(`[jobs.j]\ntype = "pull"\nroot = "pool/b"\n${SSH}\nbandwidth_limit = ${text}\n`).jobs.j?.bandwidthLimit).toBe(bytes);
  });

  test("an empty file gets every default", () => {
    expect(load("")).toEqual({
      file: FILE,
      zfs: { bin: "zfs" },
      log: { level: "info", file: undefined },
      server: { idleTimeoutMs: 600_000 },
      locks: { dir: "/run/zferry" },
      metrics: { textfile: undefined },
      clients: {},
      jobs: {},
    });
  });

  test("defaults are filled for a client, an ssh connect and a pull job", () => {
    const config = load(`[clients.c]\nfilesystems = {}\n[jobs.j]\ntype = "pull"\nroot = "pool/b"\n${SSH}\n`);
    expect(config.clients.c).toMatchObject({ receiveRoot: undefined, sendFlags: [], receive: { properties: false, keep: [] } });
    expect(config.jobs.j).toMatchObject({
      connect: { type: "ssh", host: "h", user: "root", port: 22, identityFile: undefined, options: [], handshakeTimeoutMs: 10_000, sessionsPerConnection: 2 },
      initial: "most_recent",
      send: { raw: false, compressed: false, large_blocks: false, embedded: false, properties: false },
      receive: { properties: false, keep: [] },
      concurrency: 4,
    });
    expect(config.jobs.j?.filesystems).toBeInstanceOf(DatasetFilter);
    expect(String(config.jobs.j?.filesystems)).toBe('{ "<" = true }');
  });

  test("the result is deeply frozen", () => {
    const config = load(EXAMPLE);
    const frozen: unknown[] = [config, config.zfs, config.log, config.server, config.clients, config.jobs, config.clients.backup1, config.clients.backup1?.sendFlags];
    const job = config.jobs.prod;
    frozen.push(job, job?.connect, job?.send, job?.filesystems, job?.connect.type === "ssh" ? job.connect.options : undefined);
    expect(frozen.map((o) => Object.isFrozen(o))).toEqual(frozen.map(() => true));
    expect(() => {
      (config.log as { level: string }).level = "debug";
    }).toThrow(TypeError);
  });

  test("clients and jobs are null-prototype records, so inherited names are not identities", () => {
    const config = load(CLIENT);
    expect([Object.getPrototypeOf(config.clients), config.clients.toString, config.jobs.constructor]).toEqual([null, undefined, undefined]);
  });

  test("identities that look like Object.prototype members are ordinary identities", () => {
    const config = load(`[clients.constructor]\nfilesystems = {}\n[clients.__proto__]\nfilesystems = { "a" = true }\n`);
    expect(Object.keys(config.clients)).toEqual(["constructor", "__proto__"]);
    expect(config.clients.__proto__?.filesystems.allows("a")).toBe(true);
  });

  test.each([
    ["idle_timeout = 30", 30_000],
    ["idle_timeout = 1.5", 1_500],
    ['idle_timeout = "30s"', 30_000],
    ['idle_timeout = "1h30m"', 5_400_000],
    ['idle_timeout = "250ms"', 250],
    ['idle_timeout = "1d"', 86_400_000],
  ])("[server] %s → %d ms", (line, ms) => {
    expect(load(`[server]\n${line}\n`).server.idleTimeoutMs).toBe(ms);
  });

  test.each(["error", "warn", "info", "debug"])("log level %s", (level) => {
    expect(load(`[log]\nlevel = "${level}"\n`).log.level).toBe(level);
  });

  test.each(["/usr/sbin/zfs", "zfs", "zfs-fake"])("zfs.bin %s", (bin) => {
    expect(load(`[zfs]\nbin = "${bin}"\n`).zfs.bin).toBe(bin);
  });

  test.each(["host.example", "10.0.0.1", "::1", "fe80::1%eth0", "a_b-c"])("ssh host %s", (host) => {
    const job = load(`[jobs.j]\ntype = "pull"\nroot = "p"\nconnect = { type = "ssh", host = "${host}", identity_file = "~/.ssh/id" }\n`).jobs.j;
    expect(job?.connect).toMatchObject({ host, identityFile: "~/.ssh/id" });
  });

  test.each(["ciphers=aes128-ctr", "ServerAliveInterval=5", "UserKnownHostsFile=/tmp/known hosts", "StrictHostKeyChecking=yes"])(
    "ssh option %s is allowed",
    (option) => {
      const job = load(`[jobs.j]\ntype = "pull"\nroot = "p"\nconnect = { type = "ssh", host = "h", options = [${JSON.stringify(option)}] }\n`).jobs.j;
      expect(job?.connect).toMatchObject({ options: [option] });
    },
  );

  test("a push job may name a root, which is checked", () => {
    expect(load(`${CLIENT}[jobs.j]\ntype = "push"\nroot = "x/y"\n${SSH}\nfilesystems = {}\n`).jobs.j?.root as string | undefined).toBe("x/y");
  });
});

describe("parseConfig rejects", () => {
  const PULL = `[jobs.j]\ntype = "pull"\nroot = "pool/b"\n`;
  const ssh = (fields: string) => `${PULL}connect = { type = "ssh", host = "h", ${fields} }\n`;
  const ALLOWED_OPTIONS = "ssh option \"ProxyCommand\" is not allowed (it is not on the list of safe keys: ";

  test.each([
    // [what, toml, key path, reason]
    ["unknown top-level key", "foo = 1", "foo", "unknown key; expected one of: zfs, log, server, locks, metrics, clients, jobs"],
    ["unknown key in [metrics]", "[metrics]\nfile = '/var/lib/z.prom'", "metrics.file", "unknown key; expected one of: textfile"],
    ["metrics.textfile relative", "[metrics]\ntextfile = 'zferry.prom'", "metrics.textfile", 'must be an absolute path, got "zferry.prom"'],
    ["metrics.textfile not .prom", "[metrics]\ntextfile = '/var/lib/zferry.txt'", "metrics.textfile", 'must name a file ending in ".prom" (node_exporter\'s textfile collector reads no other), got "/var/lib/zferry.txt"'],
    ["metrics.textfile wrong type", "[metrics]\ntextfile = true", "metrics.textfile", "expected a string, got a boolean"],
    ["unknown key in [zfs]", "[zfs]\nbinary = 'zfs'", "zfs.binary", "unknown key; expected one of: bin"],
    ["unknown key in [log]", "[log]\nlevels = 'info'", "log.levels", "unknown key; expected one of: level, file"],
    ["unknown key in [server]", "[server]\ntimeout = 1", "server.timeout", "unknown key; expected one of: idle_timeout"],
    ["unknown key in [locks]", "[locks]\npath = '/run/z'", "locks.path", "unknown key; expected one of: dir"],
    ["[zfs] not a table", "zfs = 'zfs'", "zfs", "expected a table, got a string"],
    ["zfs.bin wrong type", "[zfs]\nbin = 1", "zfs.bin", "expected a string, got an integer"],
    ["zfs.bin empty", "[zfs]\nbin = ''", "zfs.bin", "must not be empty"],
    ["zfs.bin relative path", "[zfs]\nbin = 'bin/zfs'", "zfs.bin", 'must be a command name or an absolute path, got "bin/zfs"'],
    ["zfs.bin with a newline", '[zfs]\nbin = "zfs\\n"', "zfs.bin", 'must not contain control characters: "zfs\\n"'],
    ["log.level unknown", "[log]\nlevel = 'trace'", "log.level", '"trace" is not one of: "error", "warn", "info", "debug"'],
    ["log.level wrong type", "[log]\nlevel = 3", "log.level", "expected a string, got an integer"],
    ["log.file relative", "[log]\nfile = 'zferry.log'", "log.file", 'must be an absolute path, got "zferry.log"'],
    ["idle_timeout zero", "[server]\nidle_timeout = 0", "server.idle_timeout", "invalid duration 0: must be between 1ms and 2147483647ms (about 24 days)"],
    ["idle_timeout negative", "[server]\nidle_timeout = -5", "server.idle_timeout", "invalid duration -5: must be between 1ms and 2147483647ms (about 24 days)"],
    ["idle_timeout too long", "[server]\nidle_timeout = '30d'", "server.idle_timeout", 'invalid duration "30d": must be between 1ms and 2147483647ms (about 24 days)'],
    ["idle_timeout bad unit", "[server]\nidle_timeout = '10x'", "server.idle_timeout", 'invalid duration "10x": expected seconds as a number or a string like "30s", "10m", "1h30m"'],
    ["idle_timeout with spaces", "[server]\nidle_timeout = '10 m'", "server.idle_timeout", 'invalid duration "10 m": expected seconds as a number or a string like "30s", "10m", "1h30m"'],
    ["idle_timeout boolean", "[server]\nidle_timeout = true", "server.idle_timeout", 'invalid duration: expected seconds as a number or a string like "10m", got boolean'],
    ["idle_timeout infinite", "[server]\nidle_timeout = inf", "server.idle_timeout", "invalid duration Infinity: not a finite number of seconds"],
    // clients
    ["clients not a table", "clients = []", "clients", "expected a table, got an array"],
    ["client not a table", "[clients]\nb1 = true", "clients.b1", "expected a table, got a boolean"],
    ["identity with a slash", '[clients."a/b"]\nfilesystems = {}', 'clients."a/b"', 'invalid identity "a/b": only A-Z, a-z, 0-9, "_", "." and "-" are allowed'],
    ["identity with a space", '[clients."a b"]\nfilesystems = {}', 'clients."a b"', 'invalid identity "a b": only A-Z, a-z, 0-9, "_", "." and "-" are allowed'],
    ["identity starting with -", '[clients.-x]\nfilesystems = {}', "clients.-x", 'invalid identity "-x": must not begin with "-"'],
    ["empty identity", '[clients.""]\nfilesystems = {}', 'clients.""', "invalid identity: empty"],
    ["identity of 65 characters", `[clients.${"a".repeat(65)}]\nfilesystems = {}`, `clients.${"a".repeat(65)}`, `invalid identity "${"a".repeat(65)}": longer than 64 characters`],
    ["unknown client key", "[clients.b1]\nfilesystems = {}\nsend_flag = []", "clients.b1.send_flag", "unknown key; expected one of: filesystems, receive_root, receive, send_flags"],
    ["missing filesystems", "[clients.b1]\nreceive_root = 'a'", "clients.b1.filesystems", "missing required key"],
    ["filesystems not a table", "[clients.b1]\nfilesystems = ['tank']", "clients.b1.filesystems", "expected a table, got an array"],
    ["malformed pattern", '[clients.backup1]\nfilesystems = { "tank/x<<" = true }', 'clients.backup1.filesystems."tank/x<<"', 'invalid pattern: invalid dataset name "tank/x<": character "<" is not allowed'],
    ["pattern value not boolean", '[clients.b1]\nfilesystems = { "tank" = "ok" }', "clients.b1.filesystems.tank", "expected a boolean (true allows, false denies), got a string"],
    ["receive_root invalid", "[clients.b1]\nfilesystems = {}\nreceive_root = 'tank/'", "clients.b1.receive_root", 'invalid dataset name "tank/": empty component'],
    ["receive_root snapshot", "[clients.b1]\nfilesystems = {}\nreceive_root = 'tank@s'", "clients.b1.receive_root", 'invalid dataset name "tank@s": "@" and "#" belong to snapshot and bookmark names'],
    ["receive_root wrong type", "[clients.b1]\nfilesystems = {}\nreceive_root = 1", "clients.b1.receive_root", "expected a string, got an integer"],
    ["send_flags not an array", "[clients.b1]\nfilesystems = {}\nsend_flags = 'raw'", "clients.b1.send_flags", "expected an array, got a string"],
    ["unknown send flag", "[clients.b1]\nfilesystems = {}\nsend_flags = ['raw', 'dedup']", "clients.b1.send_flags[1]", '"dedup" is not one of: "raw", "compressed", "large_blocks", "embedded", "properties"'],
    ["duplicate send flag", "[clients.b1]\nfilesystems = {}\nsend_flags = ['raw', 'raw']", "clients.b1.send_flags[1]", 'duplicate send flag "raw"'],
    ["receive not a table", "[clients.b1]\nfilesystems = {}\nreceive = ['exec']", "clients.b1.receive", "expected a table, got an array"],
    ["receive unknown key", "[clients.b1]\nfilesystems = {}\nreceive = { exclude = [] }", "clients.b1.receive.exclude", "unknown key; expected one of: properties, keep"],
    ["receive.properties not boolean", "[clients.b1]\nfilesystems = {}\nreceive = { properties = 'yes' }", "clients.b1.receive.properties", "expected a boolean, got a string"],
    ["receive.keep not an array", "[clients.b1]\nfilesystems = {}\nreceive = { keep = 'exec' }", "clients.b1.receive.keep", "expected an array, got a string"],
    ["receive.keep readonly", "[clients.b1]\nfilesystems = {}\nreceive = { keep = ['readonly'] }", "clients.b1.receive.keep[0]", '"readonly" cannot be kept from the stream: zferry keeps received datasets readonly so that the next incremental receive applies'],
    ["receive.keep not confined", "[clients.b1]\nfilesystems = {}\nreceive = { keep = ['exec', 'compression'] }", "clients.b1.receive.keep[1]", '"compression" is not a confined property; expected one of: "mountpoint", "sharenfs", "sharesmb", "setuid", "devices", "exec"'],
    ["receive.keep duplicate", "[clients.b1]\nfilesystems = {}\nreceive = { keep = ['exec', 'exec'] }", "clients.b1.receive.keep[1]", 'duplicate property "exec"'],
    // jobs
    ["job name invalid", '[jobs."a b"]\ntype = "pull"', 'jobs."a b"', 'invalid identity "a b": only A-Z, a-z, 0-9, "_", "." and "-" are allowed'],
    ["job not a table", "jobs = { j = 1 }", "jobs.j", "expected a table, got an integer"],
    ["unknown job key", `${PULL}${SSH}\nmapping = {}`, "jobs.j.mapping", "unknown key; expected one of: type, connect, root, filesystems, initial, send, receive, concurrency, compression, bandwidth_limit"],
    ["missing type", `[jobs.j]\n${SSH}`, "jobs.j.type", "missing required key"],
    ["unknown type", `[jobs.j]\ntype = "sink"\n${SSH}`, "jobs.j.type", '"sink" is not one of: "pull", "push"'],
    ["missing connect", PULL, "jobs.j.connect", "missing required key"],
    ["connect not a table", `${PULL}connect = "ssh://h"`, "jobs.j.connect", "expected a table, got a string"],
    ["connect without type", `${PULL}connect = { host = "h" }`, "jobs.j.connect.type", "missing required key"],
    ["connect unknown type", `${PULL}connect = { type = "tcp" }`, "jobs.j.connect.type", '"tcp" is not one of: "ssh", "local"'],
    ["ssh unknown key", ssh('hostname = "x"'), "jobs.j.connect.hostname", "unknown key; expected one of: type, host, user, port, identity_file, options"],
    ["ssh identity key", ssh('identity = "x"'), "jobs.j.connect.identity", "unknown key; expected one of: type, host, user, port, identity_file, options"],
    ["ssh missing host", `${PULL}connect = { type = "ssh" }`, "jobs.j.connect.host", "missing required key"],
    ["ssh host is an option", `${PULL}connect = { type = "ssh", host = "-oProxyCommand=sh" }`, "jobs.j.connect.host", '"-oProxyCommand=sh" is not a valid host name or IP address'],
    ["ssh host with a space", `${PULL}connect = { type = "ssh", host = "a b" }`, "jobs.j.connect.host", '"a b" is not a valid host name or IP address'],
    ["ssh user with @", ssh('user = "root@x"'), "jobs.j.connect.user", '"root@x" is not a valid user name'],
    ["ssh user is an option", ssh('user = "-l"'), "jobs.j.connect.user", '"-l" is not a valid user name'],
    ["port 0", ssh("port = 0"), "jobs.j.connect.port", "0 is out of range 1..65535"],
    ["port 65536", ssh("port = 65536"), "jobs.j.connect.port", "65536 is out of range 1..65535"],
    ["port as string", ssh('port = "22"'), "jobs.j.connect.port", "expected an integer, got a string"],
    ["port as float", ssh("port = 22.5"), "jobs.j.connect.port", "expected an integer, got a float"],
    ["identity_file relative", ssh('identity_file = "id_ed25519"'), "jobs.j.connect.identity_file", 'must be an absolute path or start with "~/", got "id_ed25519"'],
    ["options not an array", ssh('options = "Ciphers=x"'), "jobs.j.connect.options", "expected an array, got a string"],
    ["option not a string", ssh("options = [1]"), "jobs.j.connect.options[0]", "expected a string, got an integer"],
    ["option without =", ssh('options = ["Compression yes"]'), "jobs.j.connect.options[0]", 'invalid ssh option "Compression yes": expected "Key=Value"'],
    ["option without value", ssh('options = ["Compression="]'), "jobs.j.connect.options[0]", 'invalid ssh option "Compression=": expected "Key=Value"'],
    ["option starting with -", ssh('options = ["-oProxyCommand=x"]'), "jobs.j.connect.options[0]", 'invalid ssh option "-oProxyCommand=x": expected "Key=Value"'],
    ["option that runs a command", ssh('options = ["Compression=yes", "ProxyCommand=nc %h %p"]'), "jobs.j.connect.options[1]", ALLOWED_OPTIONS],
    ["option LocalCommand", ssh('options = ["LocalCommand=id"]'), "jobs.j.connect.options[0]", 'ssh option "LocalCommand" is not allowed'],
    ["option KnownHostsCommand", ssh('options = ["knownhostscommand=/bin/x"]'), "jobs.j.connect.options[0]", 'ssh option "knownhostscommand" is not allowed'],
    ["option BatchMode", ssh('options = ["BatchMode=no"]'), "jobs.j.connect.options[0]", 'ssh option "BatchMode" is not allowed'],
    ["local unknown key", `${CLIENT}${PULL}connect = { type = "local", identity = "b1", host = "h" }`, "jobs.j.connect.host", "unknown key; expected one of: type, identity"],
    ["local missing identity", `${PULL}connect = { type = "local" }`, "jobs.j.connect.identity", "missing required key"],
    ["local bad identity", `${PULL}connect = { type = "local", identity = "-x" }`, "jobs.j.connect.identity", 'invalid identity "-x": must not begin with "-"'],
    ["local unknown identity", `${CLIENT}${PULL}connect = { type = "local", identity = "b2" }`, "jobs.j.connect.identity", 'unknown client "b2": not in [clients]'],
    ["local push without receive_root", `[clients.b1]\nfilesystems = {}\n[jobs.j]\ntype = "push"\nconnect = { type = "local", identity = "b1" }\nfilesystems = {}`, "jobs.j.connect.identity", 'client "b1" has no receive_root, so it cannot be pushed to'],
    ["pull without root", `[jobs.j]\ntype = "pull"\n${SSH}`, "jobs.j.root", "missing required key"],
    ["pull root invalid", `[jobs.j]\ntype = "pull"\nroot = "pool/../x"\n${SSH}`, "jobs.j.root", 'invalid dataset name "pool/../x": component ".." is not allowed'],
    ["push without filesystems", `[jobs.j]\ntype = "push"\n${SSH}`, "jobs.j.filesystems", "missing required key"],
    ["push root invalid", `[jobs.j]\ntype = "push"\nroot = "1pool"\nfilesystems = {}\n${SSH}`, "jobs.j.root", 'invalid dataset name "1pool": the pool name must begin with a letter'],
    ["job filter pattern", `${PULL}${SSH}\nfilesystems = { "a/b c<<" = true }`, 'jobs.j.filesystems."a/b c<<"', 'invalid pattern: invalid dataset name "a/b c<": character "<" is not allowed'],
    ["no sessions per connection", `${PULL}connect = { type = "ssh", host = "h", sessions_per_connection = 0 }`, "jobs.j.connect.sessions_per_connection", "0 is out of range 1..10"],
    ["more sessions per connection than sshd allows by default", `${PULL}connect = { type = "ssh", host = "h", sessions_per_connection = 11 }`, "jobs.j.connect.sessions_per_connection", "11 is out of range 1..10"],
    ["concurrency zero", `${PULL}${SSH}\nconcurrency = 0`, "jobs.j.concurrency", "0 is out of range 1..32"],
    ["concurrency too high", `${PULL}${SSH}\nconcurrency = 33`, "jobs.j.concurrency", "33 is out of range 1..32"],
    ["initial unknown", `${PULL}${SSH}\ninitial = "fail"`, "jobs.j.initial", '"fail" is not one of: "most_recent", "all"'],
    ["send not a table", `${PULL}${SSH}\nsend = ["raw"]`, "jobs.j.send", "expected a table, got an array"],
    ["pull receive.keep unknown", `${PULL}${SSH}\nreceive = { keep = ["quota"] }`, "jobs.j.receive.keep[0]", '"quota" is not a confined property; expected one of: "mountpoint", "sharenfs", "sharesmb", "setuid", "devices", "exec"'],
    ["receive in a push job", `[jobs.j]\ntype = "push"\nfilesystems = {}\n${SSH}\nreceive = { keep = [] }`, "jobs.j.receive", "only a pull job receives; a push lands as the server's [clients.NAME] receive says"],
    ["send unknown flag", `${PULL}${SSH}\nsend = { dedup = true }`, "jobs.j.send.dedup", "unknown key; expected one of: raw, compressed, large_blocks, embedded, properties"],
    ["send flag not boolean", `${PULL}${SSH}\nsend = { raw = "yes" }`, "jobs.j.send.raw", "expected a boolean, got a string"],
  ])("%s", (_what, toml, keyPath, reason) => {
    const error = loadError(toml);
    expect({ file: error.file, keyPath: error.keyPath }).toEqual({ file: FILE, keyPath });
    expect(error.reason.startsWith(reason)).toBe(true);
    expect(error.message).toStartWith(`${FILE}: ${keyPath}: ${reason}`);
  });

  test("a value that is not a table at all", () => {
    expect(() => parseConfig("text", FILE)).toThrow(new ConfigError(FILE, "", "expected a table, got a string"));
    expect(() => parseConfig("text", FILE)).toThrow(`${FILE}: expected a table, got a string`);
  });

  test("errors from names and durations keep their cause", () => {
    expect(loadError(`[clients.b1]\nfilesystems = {}\nreceive_root = "a//b"`).cause).toBeInstanceOf(TypeError);
    expect(loadError(`[server]\nidle_timeout = "x"`).cause).toBeInstanceOf(SyntaxError);
  });
});
