/**
 * The entities of `zfs list -r` / `zfs get -r` in zfs's default order (datasets by name, each
 * dataset, then its snapshots, then its bookmarks, each by createtxg), one dataset's at a time,
 * straight from a sorted state file: each record is parsed when its turn comes to be printed.
 * The general path (cmd-list.ts, collect) parses every related record before it prints a line,
 * a second or more for a pool of ten thousand filesystems.
 */
import { err } from "./_exit.ts";
import type { Entity } from "./props.ts";
import { indexState } from "./state-file.ts";
import { byCreatetxg, statePath, type FakeState } from "./state.ts";

type Kind = Entity["kind"];

export interface EntityStream {
  /** Holds each dataset printed so far and the roots' ancestors: what inheritance looks up. */
  state: FakeState;
  /** Some operand does not exist (said on stderr already). */
  failed: boolean;
  groups: Iterable<Entity[]>;
}

/**
 * The entities below `names` (every pool when empty) to `depth`, of `kinds`; null where this path
 * does not apply (a state file not in the sorted form, or a snapshot or bookmark operand), for
 * the caller's general path. Missing operands are reported before anything else, as zfs does.
 */
export function streamEntities(names: readonly string[], o: { depth: number; kinds: readonly Kind[] }, path = statePath()): EntityStream | null {
  if (names.some((n) => /[@#]/.test(n))) return null;
  const index = indexState(path);
  if (index === null) return null;
  const state: FakeState = { txg: index.txg, datasets: {} };
  // Without operands zfs iterates every pool recursively (zfs_for_each with argc == 0).
  const depth = names.length === 0 ? Number.MAX_SAFE_INTEGER : o.depth;
  const roots: string[] = [];
  let failed = false;
  for (const name of names.length > 0 ? names : index.names.filter((n) => !n.includes("/"))) {
    if (index.find(name) < 0) {
      err(`cannot open '${name}': dataset does not exist\n`);
      failed = true;
    } else roots.push(name);
  }
  for (const root of roots) {
    for (let slash = root.lastIndexOf("/"); slash > 0; slash = root.lastIndexOf("/", slash - 1)) {
      const parent = root.slice(0, slash);
      state.datasets[parent] ??= index.record(index.find(parent), false);
    }
  }
  const kinds = new Set(o.kinds);
  function* groups(): Generator<Entity[]> {
    for (let i = 0; i < index!.names.length; i++) {
      const name = index!.names[i]!;
      const level = levelBelow(name, roots);
      // An operand itself is listed at any depth (`zfs list tank` is depth -1).
      if (level < 0 || (level > 0 && level > depth)) continue;
      const versions = level < depth && (kinds.has("snapshot") || kinds.has("bookmark"));
      const ds = index!.record(i, versions);
      state.datasets[name] = ds;
      const group: Entity[] = [];
      if (kinds.has(ds.type)) group.push({ kind: ds.type, name, ds });
      if (versions) {
        if (kinds.has("snapshot")) for (const [snap, version] of byCreatetxg(ds.snapshots)) group.push({ kind: "snapshot", name: `${name}@${snap}`, ds, version });
        if (kinds.has("bookmark")) for (const [bm, version] of byCreatetxg(ds.bookmarks)) group.push({ kind: "bookmark", name: `${name}#${bm}`, ds, version });
      }
      if (group.length > 0) yield group;
      // Printed: what later lines look up of it is its properties (inheritance), not its
      // versions, and a wide pool's versions would stay in memory to the end.
      if (versions) state.datasets[name] = { ...ds, snapshots: {}, bookmarks: {} };
    }
  }
  return { state, failed, groups: groups() };
}

// --- internal ---

/** How far below the nearest of `roots` that holds it `name` is; -1 below none. */
function levelBelow(name: string, roots: readonly string[]): number {
  let level = -1;
  for (const root of roots) {
    if (name === root) return 0;
    if (name.length > root.length && name.charCodeAt(root.length) === SLASH && name.startsWith(root)) {
      const below = slashes(name) - slashes(root);
      if (level < 0 || below < level) level = below;
    }
  }
  return level;
}

const SLASH = "/".charCodeAt(0);

function slashes(name: string): number {
  let n = 0;
  for (let i = name.indexOf("/"); i >= 0; i = name.indexOf("/", i + 1)) n++;
  return n;
}
