/**
 * The fake's pool state: one file named by FAKE_ZFS_STATE. Numbers that are 64-bit in ZFS (guids)
 * are decimal strings. Writers take a lock file and rename a temp file into place, so a concurrent
 * `send` (reader) and `recv` (writer) never see half a file.
 *
 * The file holds a header line, the pool's txg, then one line per dataset in the order of their
 * names: its name, its record without versions, and its versions (`{snapshots, bookmarks}`), each
 * as JSON, tabs between. A command about some trees parses their lines alone, a listing prints
 * them as it reads them (state-index.ts), and one of datasets alone skips their versions: a wide
 * pool's state is tens of megabytes, and parsing all of it was most of a listing's time. A file of
 * one JSON object (`{txg, datasets}`, as a test may write) is read as well.
 */
import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { fail } from "./_exit.ts";

export interface FakeVersion {
  guid: string;
  createtxg: number;
  /** Unix seconds. */
  creation: number;
  /** Payload bytes a send of this snapshot carries (FAKE_ZFS_SEND_BYTES when it was made). */
  payload?: number;
  /** `zfs hold` tags (snapshots only) → unix seconds when placed; `userrefs` counts them. */
  holds?: Record<string, number>;
}

/** Flags a stream carried; a resume token repeats them as largeblockok etc. */
export interface StreamFlags {
  raw?: boolean;
  compressed?: boolean;
  largeBlocks?: boolean;
  embedded?: boolean;
  props?: boolean;
}

/** State of an interrupted `receive -s`, from which receive_resume_token is computed. */
export interface FakePartial {
  toname: string;
  toguid: string;
  fromguid?: string;
  /** Payload bytes received so far: the offset a resumed send starts at. */
  offset: number;
  /** Stream bytes received so far. */
  bytes: number;
  payload: number;
  creation: number;
  flags: StreamFlags;
  /** Short name of the snapshot being received. */
  snapname: string;
  /** The receive created the dataset; `receive -A` destroys it again. */
  newfs: boolean;
}

export interface FakeDataset {
  type: "filesystem" | "volume";
  guid: string;
  createtxg: number;
  creation: number;
  /** Locally set properties (`create -o`, `set`, `receive -o`). */
  props: Record<string, string>;
  /** Properties a `-p` stream set (source "received"); a local value wins over one. */
  received?: Record<string, string>;
  snapshots: Record<string, FakeVersion>;
  bookmarks: Record<string, FakeVersion>;
  partial?: FakePartial;
  referenced?: number;
  /** Unix seconds of the last snapshot created, received or destroyed (OpenZFS 2.2's snapshots_changed). */
  snapshotsChanged?: number;
}

export interface FakeState {
  txg: number;
  datasets: Record<string, FakeDataset>;
}

export function statePath(): string {
  const path = process.env.FAKE_ZFS_STATE;
  if (!path) fail(1, "fake zfs: FAKE_ZFS_STATE is not set");
  return path;
}

/**
 * The state, or with `trees` (dataset names; a snapshot or bookmark name stands for its dataset)
 * only those datasets, their descendants and their ancestors (whose properties they inherit).
 */
export function loadState(path = statePath(), trees?: readonly string[]): FakeState {
  if (!existsSync(path)) return { txg: 1, datasets: {} };
  return parseState(readFileSync(path, "utf8"), trees);
}

/** Reads a state file's text (either form); `trees` as for loadState. */
export function parseState(text: string, trees?: readonly string[]): FakeState {
  if (!LINE_HEADERS.some((header) => text.startsWith(`${header}\n`))) return JSON.parse(text) as FakeState;
  const wanted = trees?.map((t) => t.split(/[@#]/)[0]!);
  const related = (name: string) => !wanted || wanted.some((t) => name === t || name.startsWith(`${t}/`) || t.startsWith(`${name}/`));
  const lines = text.split("\n");
  const state: FakeState = { txg: (JSON.parse(lines[1]!) as { txg: number }).txg, datasets: {} };
  for (let i = 2; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") continue;
    // A JSON string holds no raw tab, so the first one ends the name.
    const tab = line.indexOf("\t");
    const name = JSON.parse(line.slice(0, tab)) as string;
    if (!related(name)) continue;
    // Form 2 has the record whole; form 3 its versions apart, after a second tab.
    const versions = line.indexOf("\t", tab + 1);
    state.datasets[name] = versions < 0 ? (JSON.parse(line.slice(tab + 1)) as FakeDataset) : joinRecord(line.slice(tab + 1, versions), line.slice(versions + 1));
  }
  return state;
}

/** A dataset's record from the two JSON texts of its line; `versions` null for none parsed (empty). */
export function joinRecord(dataset: string, versions: string | null): FakeDataset {
  const own = JSON.parse(dataset) as FakeDataset;
  const { snapshots, bookmarks } = versions === null ? { snapshots: {}, bookmarks: {} } : (JSON.parse(versions) as Pick<FakeDataset, "snapshots" | "bookmarks">);
  own.snapshots = snapshots;
  own.bookmarks = bookmarks;
  return own;
}

/** The state as its file holds it: datasets in the order of their names (zfs's default order). */
export function serializeState(state: FakeState): string {
  const lines = [SORTED_HEADER, JSON.stringify({ txg: state.txg })];
  const names = Object.keys(state.datasets).sort(byName);
  for (const name of names) {
    const { snapshots, bookmarks, ...own } = state.datasets[name]!;
    lines.push(`${JSON.stringify(name)}\t${JSON.stringify(own)}\t${JSON.stringify({ snapshots, bookmarks })}`);
  }
  return `${lines.join("\n")}\n`;
}

/** Reloads the state under a lock, lets `change` edit it, and writes it back atomically. */
export function updateState<T>(change: (state: FakeState) => T, path = statePath()): T {
  const lock = `${path}.lock`;
  const fd = acquire(lock);
  try {
    const state = loadState(path);
    const result = change(state);
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, serializeState(state));
    renameSync(tmp, path);
    return result;
  } finally {
    closeSync(fd);
    rmSync(lock, { force: true });
  }
}

/** Advances the pool's txg and returns it (what a new snapshot's createtxg would be). */
export function nextTxg(state: FakeState): number {
  state.txg += 1;
  return state.txg;
}

export function now(): number {
  const fixed = process.env.FAKE_ZFS_NOW;
  return fixed ? Number(fixed) : Math.floor(Date.now() / 1000);
}

/** A random nonzero 64-bit guid as a decimal string. */
export function newGuid(): string {
  const words = crypto.getRandomValues(new Uint32Array(2));
  const guid = (BigInt(words[0]!) << 32n) | BigInt(words[1]!);
  return (guid === 0n ? 1n : guid).toString();
}

export function newDataset(state: FakeState, type: FakeDataset["type"] = "filesystem"): FakeDataset {
  return { type, guid: newGuid(), createtxg: nextTxg(state), creation: now(), props: {}, snapshots: {}, bookmarks: {} };
}

/** Snapshots of a dataset, oldest first. */
export function snapshotsOf(ds: FakeDataset): [string, FakeVersion][] {
  return Object.entries(ds.snapshots).sort((a, b) => a[1].createtxg - b[1].createtxg);
}

export function parentOf(name: string): string | null {
  const slash = name.lastIndexOf("/");
  return slash < 0 ? null : name.slice(0, slash);
}

/** strcmp order, as zfs sorts names (names are ASCII, so UTF-16 order is byte order). */
export function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Header of the line form, datasets in the order of their names, versions apart. */
export const SORTED_HEADER = "fake-zfs-state 3";

// --- internal ---

/** Line forms: 2 has each record whole, in any order. */
const LINE_HEADERS = ["fake-zfs-state 2", SORTED_HEADER];

const STALE_LOCK_MS = 10_000;

function acquire(lock: string): number {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return openSync(lock, "wx");
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") throw error;
      try {
        if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { force: true });
      } catch {
        // The holder just released it.
      }
      if (Date.now() > deadline) fail(1, `fake zfs: cannot lock ${lock}`);
      Bun.sleepSync(2);
    }
  }
}
