/**
 * A fake zfs per test: a temp dir with a state file, an argv log and a `zfs` wrapper script that
 * sets the FAKE_ZFS_* environment and execs the fake. Pass `fake.bin` wherever a zfs binary path
 * goes (`new ZfsRunner({ bin })`, `[zfs] bin`), so no test has to touch process.env.
 *
 *     using fake = createFakeZfs({ datasets: ["tank/a@s1", "tank/a@s2", "tank/a#b1"] });
 *     const runner = new ZfsRunner({ bin: fake.bin });
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { readState, serializeState } from "./state-file.ts";
import type { FakeState } from "./state.ts";

/** The fake's wrapper script in the repository. */
export const FAKE_ZFS_PATH = resolve(import.meta.dir, "zfs");

export interface FakeZfs {
  /** Executable wrapper bound to this fake's state. */
  readonly bin: string;
  readonly dir: string;
  readonly statePath: string;
  readonly logPath: string;
  /** The targets of the receives that got a byte of their stream, in order. */
  fed(): string[];
  /** Rewrites the wrapper with extra FAKE_ZFS_* variables (e.g. FAKE_ZFS_FAIL_AFTER); undefined removes one. */
  setEnv(env: Record<string, string | undefined>): void;
  /** Every argv the fake was run with, oldest first. */
  calls(): string[][];
  state(): FakeState;
  /** Replaces the state (a test that sets up what no zfs command makes). */
  setState(state: FakeState): void;
  [Symbol.dispose](): void;
}

export interface FakeZfsOptions {
  /**
   * Fixture lines: `pool/fs` creates a filesystem (and its parents), `pool/fs@s` a snapshot,
   * `pool/fs#b` a bookmark of the snapshot created last on that dataset. Pools are implied.
   */
  datasets?: string[];
  env?: Record<string, string>;
  /** The fake to run: FAKE_ZFS_PATH (default) or a build of it from `compileFakeZfs`. */
  program?: string;
}

export function createFakeZfs(options: FakeZfsOptions = {}): FakeZfs {
  const dir = mkdtempSync(join(tmpdir(), "zferry-fake-zfs-"));
  const statePath = join(dir, "state.json");
  const logPath = join(dir, "argv.log");
  const fedPath = join(dir, "fed.log");
  const bin = join(dir, "zfs");
  let env: Record<string, string> = { ...options.env };
  const writeWrapper = () => {
    const vars = { ...env, FAKE_ZFS_STATE: statePath, FAKE_ZFS_LOG: logPath, FAKE_ZFS_FED_LOG: fedPath };
    const exports = Object.entries(vars).map(([k, v]) => `export ${k}=${shellQuote(v)}\n`).join("");
    writeFileSync(bin, `#!/bin/sh\n${exports}exec ${shellQuote(options.program ?? FAKE_ZFS_PATH)} "$@"\n`);
    chmodSync(bin, 0o755);
  };
  writeFileSync(statePath, serializeState(buildState(options.datasets ?? [])));
  writeWrapper();
  return {
    bin,
    dir,
    statePath,
    logPath,
    setEnv(extra) {
      const next = { ...env };
      for (const [k, v] of Object.entries(extra)) {
        if (v === undefined) delete next[k];
        else next[k] = v;
      }
      env = next;
      writeWrapper();
    },
    fed() {
      return existsSync(fedPath) ? readFileSync(fedPath, "utf8").split("\n").filter(Boolean) : [];
    },
    calls() {
      if (!existsSync(logPath)) return [];
      return readFileSync(logPath, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as string[]);
    },
    state() {
      return readState(statePath);
    },
    setState(state) {
      // Renamed into place as the fake's own writers do: a listing maps the file it started
      // with, and a file cut short under it would fault.
      const tmp = `${statePath}.set.tmp`;
      writeFileSync(tmp, serializeState(state));
      renameSync(tmp, statePath);
    },
    [Symbol.dispose]() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Compiles the fake into one executable at `outfile` (bun build --compile --bytecode). It starts in
 * about 10 ms where `bun zfs.ts` takes about 25 (a real zfs: 3–5): for benches, where a zferry job
 * runs ten zfs commands and its baseline one. Same code, same output.
 * @throws Error with bun's output when the build fails
 */
export function compileFakeZfs(outfile: string): string {
  const entry = resolve(import.meta.dir, "zfs.ts");
  const build = Bun.spawnSync([process.execPath, "build", "--compile", "--bytecode", "--format=esm", entry, "--outfile", outfile], { stdout: "pipe", stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`building the fake zfs failed: ${build.stderr.toString()}${build.stdout.toString()}`);
  return outfile;
}

/** Builds a state from fixture lines with guids 1000+n and createtxg in line order. */
export function buildState(lines: string[], payload = 64 * 1024): FakeState {
  const state: FakeState = { txg: 1, datasets: {} };
  let n = 0;
  const ensure = (name: string) => {
    const parts = name.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const ds = parts.slice(0, i).join("/");
      state.datasets[ds] ??= { type: "filesystem", guid: String(9000 + ++n), createtxg: ++state.txg, creation: 1_700_000_000, props: {}, snapshots: {}, bookmarks: {} };
    }
    return state.datasets[name]!;
  };
  const lastSnap = new Map<string, string>();
  for (const line of lines) {
    const sep = line.search(/[@#]/);
    if (sep < 0) {
      ensure(line);
      continue;
    }
    const dsName = line.slice(0, sep);
    const ds = ensure(dsName);
    const short = line.slice(sep + 1);
    if (line[sep] === "@") {
      ds.snapshots[short] = { guid: String(1000 + ++n), createtxg: ++state.txg, creation: 1_700_000_000 + state.txg, payload };
      ds.snapshotsChanged = 1_700_000_000 + state.txg;
      lastSnap.set(dsName, short);
    } else {
      const snap = ds.snapshots[lastSnap.get(dsName) ?? ""];
      if (!snap) throw new Error(`fixture ${JSON.stringify(line)}: bookmark before any snapshot of ${dsName}`);
      ds.bookmarks[short] = { ...snap };
    }
  }
  return state;
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
