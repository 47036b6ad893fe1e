/**
 * Where a job keeps its unchanged marks (unchanged.ts) between runs: `job.<name>.unchanged.json`
 * in the lock directory, beside the job's lock. It is only a cache: a missing, stale or damaged
 * file costs one full listing, never a wrong plan (every entry is checked against both sides'
 * GUIDs and values), and the lock directory being on tmpfs just means the first run after a boot
 * lists everything. Written whole into a temp file and renamed, by a run holding the job's lock.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lockDirOf, type Config, type JobConfig } from "../config/index.ts";
import { logger } from "../log.ts";
import type { ChangeMark, UnchangedEntry, UnchangedMarks } from "./unchanged.ts";

const log = logger.withTag("client");
const FORMAT = 1;

export function unchangedStorePath(config: Config, job: JobConfig): string {
  return join(lockDirOf(config), `job.${job.name}.unchanged.json`);
}

/** The marks the job's last run left, for the same `scope` (e.g. its root); empty when there are none to trust. */
export function loadUnchanged(path: string, scope: string): UnchangedMarks {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return new Map();
  }
  try {
    return decode(JSON.parse(text), scope);
  } catch (err) {
    log.debug(`${path}: ignored (${(err as Error).message})`);
    return new Map();
  }
}

/** Replaces the stored marks; a failure to write only costs the next run a full listing. */
export function saveUnchanged(path: string, scope: string, marks: UnchangedMarks): void {
  const entries: Record<string, StoredEntry> = {};
  for (const [name, e] of marks) {
    entries[name] =
      e.kind === "up_to_date"
        ? { s: stored(e.source), t: stored(e.target), at: [e.at.name, e.at.kind, String(e.at.guid), String(e.at.createtxg)] }
        : { s: stored(e.source) };
  }
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify({ format: FORMAT, scope, entries }), { mode: 0o600 });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    log.warn(`Could not keep the unchanged marks in ${path}: ${(err as Error).message}; the next run lists every filesystem`);
  }
}

// --- internal ---

/** An entry as stored: marks as [guid, snapshots_changed]; `t` and `at` for an up-to-date filesystem. */
interface StoredEntry {
  s: [string, number | null];
  t?: [string, number | null];
  at?: [string, string, string, string];
}

function stored(m: ChangeMark): [string, number | null] {
  return [String(m.guid), m.changed];
}

function decode(value: unknown, scope: string): UnchangedMarks {
  const v = value as { format?: unknown; scope?: unknown; entries?: unknown };
  if (v?.format !== FORMAT || v.scope !== scope) return new Map();
  if (typeof v.entries !== "object" || v.entries === null) throw new TypeError("no entries");
  const out = new Map<string, UnchangedEntry>();
  for (const [name, raw] of Object.entries(v.entries as Record<string, Partial<StoredEntry>>)) {
    const what = `entry ${JSON.stringify(name)}`;
    if (typeof raw !== "object" || raw === null) throw new TypeError(`${what} is malformed`);
    const source = mark(raw.s, true);
    if (raw.t === undefined && raw.at === undefined) {
      out.set(name, { kind: "no_snapshots", source });
      continue;
    }
    const at = raw.at;
    if (!Array.isArray(at) || at.length !== 4) throw new TypeError(`${what}: bad snapshot`);
    const [atName, atKind, atGuid, atTxg] = at as unknown[];
    if (atKind !== "snapshot" && atKind !== "bookmark") throw new TypeError(`${what}: bad kind`);
    const target = mark(raw.t, false);
    if (source.changed === null) throw new TypeError(`${what}: an up-to-date source without snapshots_changed`);
    out.set(name, { kind: "up_to_date", source, target, at: { name: text(atName), kind: atKind, guid: big(atGuid), createtxg: big(atTxg) } });
  }
  return out;
}

function mark(raw: unknown, mayBeNone: boolean): ChangeMark {
  if (!Array.isArray(raw) || raw.length !== 2) throw new TypeError("bad mark");
  const [guid, changed] = raw as unknown[];
  if (changed === null && mayBeNone) return { guid: big(guid), changed: null };
  if (typeof changed !== "number" || !Number.isSafeInteger(changed) || changed < 0) throw new TypeError("bad snapshots_changed");
  return { guid: big(guid), changed };
}

function big(value: unknown): bigint {
  if (typeof value !== "string" || !/^[0-9]{1,20}$/.test(value)) throw new TypeError("bad number");
  return BigInt(value);
}

function text(value: unknown): string {
  if (typeof value !== "string" || value.length === 0 || value.length > 255) throw new TypeError("bad name");
  return value;
}
