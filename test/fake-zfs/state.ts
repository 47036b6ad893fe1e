/**
 * The fake's pool state: one file named by FAKE_ZFS_STATE. Numbers that are 64-bit in ZFS (guids)
 * are decimal strings. Writers take a lock file and rename a temp file into place, so a concurrent
 * `send` (reader) and `recv` (writer) never see half a file.
 *
 * The file's form, and how it is read without parsing all of it: state-file.ts.
 */
import { closeSync, openSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { fail } from "./_exit.ts";
import { readState, serializeState } from "./state-file.ts";

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

/** The state, or with `trees` only the trees related to them (readState). */
export function loadState(path = statePath(), trees?: readonly string[]): FakeState {
  return readState(path, trees);
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
  return byCreatetxg(ds.snapshots);
}

/** Versions (snapshots or bookmarks), oldest first. */
export function byCreatetxg(versions: Record<string, FakeVersion>): [string, FakeVersion][] {
  const entries = Object.entries(versions);
  if (entries.length > 1) entries.sort((a, b) => a[1].createtxg - b[1].createtxg);
  return entries;
}

export function parentOf(name: string): string | null {
  const slash = name.lastIndexOf("/");
  return slash < 0 ? null : name.slice(0, slash);
}

// --- internal ---

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
