/**
 * A sorted state file (state.ts) read for a listing: its dataset names at once, each record only
 * when asked for. A listing of some trees parses their records alone, in the order it prints
 * them, so its first lines come out while the rest of a wide pool is still being read.
 */
import { existsSync } from "node:fs";
import { SORTED_HEADER, joinRecord, type FakeDataset } from "./state.ts";

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

/** The index of the state file at `path`; null when it is not in the sorted line form (or absent, which is an empty pool). */
export function indexState(path: string): StateIndex | null {
  if (!existsSync(path)) return readIndex(Buffer.from(`${SORTED_HEADER}\n{"txg":1}\n`));
  // Mapped, not read: a wide pool's file is tens of megabytes, and a listing of one tree in it
  // touches only that tree's lines.
  const bytes = Bun.mmap(path, { shared: false });
  return readIndex(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

// --- internal ---

const NL = 0x0a;
const TAB = 0x09;

function readIndex(bytes: Buffer): StateIndex | null {
  const header = Buffer.from(`${SORTED_HEADER}\n`);
  if (!bytes.subarray(0, header.length).equals(header)) return null;
  const txgEnd = bytes.indexOf(NL, header.length);
  const txg = (JSON.parse(bytes.toString("utf8", header.length, txgEnd)) as { txg: number }).txg;
  const names: string[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  for (let at = txgEnd + 1; at < bytes.length; ) {
    let end = bytes.indexOf(NL, at);
    if (end < 0) end = bytes.length;
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
      // The record's JSON holds no raw tab, so the next one starts its versions.
      const split = bytes.indexOf(TAB, start);
      if (split < 0 || split > end) throw new Error(`fake zfs: the state line of ${names[i]} has no versions`);
      return joinRecord(bytes.toString("utf8", start, split), versions ? bytes.toString("utf8", split + 1, end) : null);
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
