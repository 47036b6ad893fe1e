/**
 * The state file's form (state.ts holds what is in it): a header line, the pool's txg, then one
 * line per dataset in the order of their names: its name, its record without versions, and its
 * versions (`{snapshots, bookmarks}`), each as JSON, tabs between. A wide pool's state is tens of
 * megabytes, and parsing all of it was most of a listing's time, so a reader maps the file, reads
 * the names, and parses a record only when asked: a command about some trees parses their lines
 * alone, a listing prints each dataset as it parses it (entity-stream.ts), and a listing of
 * datasets alone leaves their versions unread. A file of one JSON object (`{txg, datasets}`, as a
 * test may write) is read as well.
 */
import { existsSync, readFileSync } from "node:fs";
import type { FakeDataset, FakeState } from "./state.ts";

export interface StateIndex {
  txg: number;
  /** Every dataset's name, in order (byName). */
  names: readonly string[];
  /**
   * The record of `names[i]`, parsed on each call; without `versions`, its snapshots and
   * bookmarks are left unread (empty), for a listing of datasets alone.
   */
  record(i: number, versions?: boolean): FakeDataset;
  /** Where `name` is in `names`, or -1. */
  find(name: string): number;
}

/** The file's text for `state`. */
export function serializeState(state: FakeState): string {
  const lines = [HEADER, JSON.stringify({ txg: state.txg })];
  const names = Object.keys(state.datasets).sort(byName);
  for (const name of names) {
    const { snapshots, bookmarks, ...own } = state.datasets[name]!;
    lines.push(`${JSON.stringify(name)}\t${JSON.stringify(own)}\t${JSON.stringify({ snapshots, bookmarks })}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * The state at `path` (none there: an empty pool), or with `trees` (dataset names; a snapshot or
 * bookmark name stands for its dataset) only those datasets, their descendants and their
 * ancestors (whose properties they inherit).
 */
export function readState(path: string, trees?: readonly string[]): FakeState {
  const index = indexState(path);
  if (index === null) return JSON.parse(readFileSync(path, "utf8")) as FakeState;
  const wanted = trees?.map((t) => t.split(/[@#]/)[0]!);
  const related = (name: string) => !wanted || wanted.some((t) => name === t || name.startsWith(`${t}/`) || t.startsWith(`${name}/`));
  const state: FakeState = { txg: index.txg, datasets: {} };
  index.names.forEach((name, i) => {
    if (related(name)) state.datasets[name] = index.record(i);
  });
  return state;
}

/** The index of the state file at `path`; null when it is not in the line form (none there is an empty pool). */
export function indexState(path: string): StateIndex | null {
  if (!existsSync(path)) return readIndex(Buffer.from(`${HEADER}\n{"txg":1}\n`));
  // Mapped, not read: a wide pool's file is tens of megabytes, and a listing of one tree in it
  // touches only that tree's lines. Writers rename a new file into place, never change this one.
  const bytes = Bun.mmap(path, { shared: false });
  return readIndex(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/** strcmp order, as zfs sorts names (names are ASCII, so UTF-16 order is byte order). */
export function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// --- internal ---

const HEADER = "fake-zfs-state 3";
const NL = 0x0a;
const TAB = 0x09;

function readIndex(bytes: Buffer): StateIndex | null {
  const header = Buffer.from(`${HEADER}\n`);
  if (!bytes.subarray(0, header.length).equals(header)) return null;
  const txgEnd = bytes.indexOf(NL, header.length);
  const txg = (JSON.parse(bytes.toString("utf8", header.length, txgEnd)) as { txg: number }).txg;
  const names: string[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  for (let at = txgEnd + 1; at < bytes.length; ) {
    let end = bytes.indexOf(NL, at);
    if (end < 0) end = bytes.length;
    // A JSON string holds no raw tab, so the first one ends the name.
    const tab = bytes.indexOf(TAB, at);
    if (tab > at && tab < end) {
      names.push(nameOf(bytes, at, tab));
      starts.push(tab + 1);
      ends.push(end);
    }
    at = end + 1;
  }
  return {
    txg,
    names,
    record(i, versions = true) {
      const start = starts[i]!;
      const end = ends[i]!;
      // The record's JSON holds no raw tab either, so the next one starts its versions.
      const split = bytes.indexOf(TAB, start);
      if (split < 0 || split > end) throw new Error(`fake zfs: the state line of ${names[i]} has no versions`);
      const own = JSON.parse(bytes.toString("utf8", start, split)) as FakeDataset;
      const { snapshots, bookmarks } = versions ? (JSON.parse(bytes.toString("utf8", split + 1, end)) as Pick<FakeDataset, "snapshots" | "bookmarks">) : { snapshots: {}, bookmarks: {} };
      own.snapshots = snapshots;
      own.bookmarks = bookmarks;
      return own;
    },
    find(name) {
      // Binary search: the names are sorted.
      let lo = 0;
      let hi = names.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const m = names[mid]!;
        if (m === name) return mid;
        if (m < name) lo = mid + 1;
        else hi = mid - 1;
      }
      return -1;
    },
  };
}

/** The JSON string at `[from, to)`: plain ASCII is sliced as it is, anything else parsed. */
function nameOf(bytes: Buffer, from: number, to: number): string {
  const text = bytes.toString("latin1", from, to);
  return PLAIN.test(text) ? text.slice(1, -1) : (JSON.parse(bytes.toString("utf8", from, to)) as string);
}

/** A JSON string without escapes or bytes beyond ASCII. */
const PLAIN = /^"[^"\\\x80-\xff]*"$/;
