/**
 * One OpenZFS test's world in the guest: its own datasets under the two pools (`zsrc/<id>`,
 * `zdst/<id>`), its own folder, an ssh key whose authorized_keys line forces
 * `zferry stdinserver backup1` with this scenario's server config, and a client config whose jobs
 * log in with that key over the guest's sshd on 127.0.0.1. zferry runs in the guest from the shared
 * checkout, so the bulk data never leaves the guest: both ends as `bun src/cli.ts`, or both as the
 * compiled binary (the default: under emulation it starts in 1–3 s, `bun src/cli.ts` in 5–15 s).
 *
 *     await using s = await createScenario(g, "pull", { program: "compiled" });
 *     await s.configure({ server: `[clients.backup1]\nfilesystems = { "${s.src}<" = true }`, client: … });
 *     const run = await s.zferry(["pull", "p"]);
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { REPO, shellQuote, type Guest, type GuestRun } from "./guest.ts";

export type ZferryKind = "bun" | "compiled";

export interface Scenario extends AsyncDisposable {
  readonly id: string;
  /** Folder in the guest for configs, keys and logs. */
  readonly dir: string;
  /** This scenario's source tree root, `zsrc/<id>`. */
  readonly src: string;
  /** This scenario's target tree root, `zdst/<id>`. */
  readonly dst: string;
  readonly guest: Guest;
  /** `connect = { … }` for a job in the client config. */
  readonly connect: string;
  /** A `[jobs.NAME]` table that logs in with the scenario's key; `fields` are TOML values as written. */
  job(name: string, type: "pull" | "push", fields: Readonly<Record<string, string>>): string;
  /** Writes `server.toml` (stdinserver) and `client.toml` (the jobs). */
  configure(files: { server: string; client: string }): Promise<void>;
  /** The shell command that runs zferry in the guest as the client with `args` (for timing it there). */
  command(args: readonly string[]): string;
  /** Runs zferry in the guest as the client (`--config client.toml`), to its end. */
  zferry(args: readonly string[], options?: { tty?: boolean }): Promise<GuestRun>;
  /** The same, started in the background; its pid file is `<dir>/client.pid`. */
  spawnZferry(args: readonly string[]): Bun.Subprocess<"ignore", "pipe", "pipe">;
  /** The server's request log so far. */
  serverLog(): Promise<string>;
}

let scenarios = 0;

/** Makes the scenario's folder, key, forced command and (empty) dataset roots. */
export async function createScenario(guest: Guest, name: string, options: { program?: ZferryKind } = {}): Promise<Scenario> {
  const id = `${name.replace(/[^a-z0-9]/gi, "")}${++scenarios}p${process.pid}`;
  const dir = `/tmp/zt-${id}`;
  const src = `${guest.state.pools.source}/${id}`;
  const dst = `${guest.state.pools.target}/${id}`;
  const program = await zferryCommand(guest, options.program ?? "compiled");
  const key = `${dir}/client_ed25519`;
  const forced = `env ZFERRY_CONFIG=${dir}/server.toml ${program} stdinserver backup1`;
  await guest.sh(
    [
      `mkdir -p ${dir}`,
      `ssh-keygen -q -t ed25519 -N '' -C ${id} -f ${key}`,
      `printf '%s\\n' ${shellQuote(`command="${forced}",restrict `)}"$(cat ${key}.pub)" >> /root/.ssh/authorized_keys`,
      `zfs create -o mountpoint=/${src} ${src}`,
      // The pull target root: not mounted, so nothing received below it mounts either.
      `zfs create -o mountpoint=none ${dst}`,
    ].join(" && "),
  );
  const connect = `{ type = "ssh", host = "127.0.0.1", user = "root", port = 22, identity_file = "${key}", options = ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "LogLevel=ERROR"], handshake_timeout = "60s" }`;
  const client = (args: readonly string[]): string =>
    `cd ${dir} && exec ${program} ${args.map(shellQuote).join(" ")} --config ${dir}/client.toml`;
  return {
    id,
    dir,
    src,
    dst,
    guest,
    connect,
    job(name, type, fields) {
      return [`[jobs.${name}]`, `type = "${type}"`, `connect = ${connect}`, ...Object.entries(fields).map(([k, v]) => `${k} = ${v}`)].join("\n");
    },
    async configure(files) {
      await guest.sh(`cat > ${dir}/server.toml <<'EOF_SERVER'\n${files.server}\n[log]\nfile = "${dir}/server.log"\nlevel = "info"\nEOF_SERVER\ncat > ${dir}/client.toml <<'EOF_CLIENT'\n${files.client}\nEOF_CLIENT`);
    },
    command: client,
    zferry(args, { tty = false } = {}) {
      const command = client(args);
      // `script` gives the client a terminal, which is what draws the progress line.
      return guest.run(tty ? `export TERM=xterm; script -qefc ${shellQuote(command)} /dev/null` : `export NO_COLOR=1; ${command}`);
    },
    spawnZferry(args) {
      return guest.spawn(`echo $$ > ${dir}/client.pid; export NO_COLOR=1; ${client(args)}`);
    },
    async serverLog() {
      return (await guest.run(`cat ${dir}/server.log 2>/dev/null`)).stdout;
    },
    async [Symbol.asyncDispose]() {
      // Children first (zfs destroy -r); the key line goes with the scenario.
      await guest.run(
        `zfs destroy -r ${src}; zfs destroy -r ${dst}; sed -i '/ ${id}$/d' /root/.ssh/authorized_keys; rm -rf ${dir}`,
      );
    },
  };
}

let compiled: Promise<string> | undefined;

/** zferry as a command line in the guest: `bun src/cli.ts`, or the compiled binary built once per test process. */
async function zferryCommand(guest: Guest, kind: ZferryKind): Promise<string> {
  if (kind === "bun") return `${guest.checkout}/bun ${guest.checkout}/src/cli.ts`;
  compiled ??= buildBinary().then(async (built) => {
    // Built on the host (seconds, where the guest would take minutes), copied to the guest's disk
    // through the share, then removed from the checkout: 107 MiB a run would pile up in .tmp/.
    const local = `${guest.checkout}/zferry`;
    try {
      await guest.sh(`cp ${shellQuote(built)} ${local}`);
    } finally {
      rmSync(built, { force: true });
    }
    return local;
  });
  return compiled;
}

/** Exactly what `npm run build` runs, into `.tmp/` of the checkout (which the guest sees). */
async function buildBinary(): Promise<string> {
  const dir = join(REPO, ".tmp", "openzfs");
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, `zferry-${process.pid}`);
  const script: string = (await Bun.file(join(REPO, "package.json")).json()).scripts.build;
  const [bun, ...args] = script.split(" ").map((a) => (a === "dist/zferry" ? outfile : a));
  if (bun !== "bun" || !args.includes(outfile)) throw new Error(`unexpected build script: ${script}`);
  await using build = Bun.spawn([process.execPath, ...args], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
  const [stderr, code] = await Promise.all([build.stderr.text(), build.exited]);
  if (code !== 0) throw new Error(`bun build --compile failed: ${stderr}`);
  return outfile;
}

/** The run's stdout; a non-zero exit throws with everything it printed, so a failure shows why. */
export function succeeded(run: GuestRun): string {
  if (run.exitCode !== 0) throw new Error(`zferry exited ${run.exitCode}\n--- stdout\n${run.stdout}--- stderr\n${run.stderr}`);
  return run.stdout;
}
