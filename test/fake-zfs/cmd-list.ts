/**
 * `zfs list` and `zfs get`: option handling, recursion and ordering after zfs_main.c / zfs_iter.c,
 * output in the columns and formats OpenZFS 2.2 prints.
 */
import { err, out } from "./_exit.ts";
import { getopt } from "./_getopt.ts";
import { ALL_PROPS, canonicalProp, propValue, readonlyValue, type Entity } from "./props.ts";
import { streamEntities } from "./entity-stream.ts";
import { loadState, statePath, type FakeState } from "./state.ts";
import { usageError } from "./usage.ts";

type Kind = Entity["kind"];
const TYPE_NAMES: Record<string, Kind[]> = {
  filesystem: ["filesystem"],
  volume: ["volume"],
  snapshot: ["snapshot"],
  snap: ["snapshot"],
  bookmark: ["bookmark"],
  all: ["filesystem", "volume", "snapshot", "bookmark"],
};
const HEADERS: Record<string, string> = { available: "AVAIL", referenced: "REFER" };

export function cmdList(args: string[]): number {
  const r = getopt(args, ":HS:d:o:prs:t:");
  if (!r.ok) usageError("list", r.message);
  let scripted = false;
  let parsable = false;
  let depth = -1;
  let fields = ["name", "used", "available", "referenced", "mountpoint"];
  let types: Kind[] | null = null;
  const sorts: { prop: string; desc: boolean }[] = [];
  for (const { opt, arg = "" } of r.opts) {
    if (opt === "H") scripted = true;
    else if (opt === "p") parsable = true;
    else if (opt === "r") depth = Math.max(depth, Number.MAX_SAFE_INTEGER);
    else if (opt === "d") depth = parseDepth("list", arg);
    else if (opt === "o") fields = checkProps("list", arg.split(","));
    else if (opt === "t") types = parseTypes("list", arg);
    else sorts.push({ prop: checkProps("list", [arg])[0]!, desc: opt === "S" });
  }
  const implicitVersions = types === null;
  const kinds = types ?? ["filesystem", "volume"];
  // `zfs list -t snapshot fs` without -r lists the snapshots of fs (zfs_main.c, zfs_do_list).
  if (depth < 0 && types !== null && types.every((t) => t === "snapshot" || t === "bookmark") && r.rest.length > 0) depth = 1;
  const streamed = scripted && sorts.length === 0 ? streamEntities(r.rest, { depth, kinds }) : null;
  if (streamed) {
    const output = new ScriptedOutput();
    for (const group of streamed.groups) {
      for (const e of group) output.add(fields.map((f) => readonlyValue(e, f, parsable) ?? propValue(streamed.state, e, f, parsable).value));
    }
    output.flush();
    return streamed.failed ? 1 : 0;
  }
  // Only the trees asked about: a wide pool's state is tens of megabytes.
  const state = loadState(statePath(), r.rest.length > 0 ? r.rest : undefined);
  const collected = collect(state, r.rest, { depth, kinds: [...kinds], implicitVersions });
  const { entities, failed } = collected;
  sortEntities(state, collected, sorts);
  const row = (e: Entity) => fields.map((f) => readonlyValue(e, f, parsable) ?? propValue(state, e, f, parsable).value);
  if (scripted) {
    const output = new ScriptedOutput();
    for (const e of entities) output.add(row(e));
    output.flush();
  } else if (entities.length > 0) printTable(fields.map((f) => HEADERS[f] ?? f.toUpperCase()), entities.map(row));
  else if (!failed) err("no datasets available\n");
  return failed ? 1 : 0;
}

export function cmdGet(args: string[]): number {
  const r = getopt(args, ":d:o:s:rt:Hp");
  if (!r.ok) usageError("get", r.message);
  let scripted = false;
  let parsable = false;
  let depth = -1;
  let columns = ["name", "property", "value", "source"];
  let sources: string[] | null = null;
  let types: Kind[] = ["filesystem", "volume", "snapshot", "bookmark"];
  for (const { opt, arg = "" } of r.opts) {
    if (opt === "H") scripted = true;
    else if (opt === "p") parsable = true;
    else if (opt === "r") depth = Number.MAX_SAFE_INTEGER;
    else if (opt === "d") depth = parseDepth("get", arg);
    else if (opt === "t") types = parseTypes("get", arg);
    else if (opt === "s") {
      sources = arg.split(",");
      for (const src of sources) {
        if (!["local", "default", "inherited", "temporary", "received", "none"].includes(src)) usageError("get", `invalid source '${src}'`);
      }
    } else if (opt === "o") {
      columns = arg.split(",");
      for (const c of columns) {
        if (!["name", "property", "value", "received", "source"].includes(c)) usageError("get", `invalid column name '${c}'`);
      }
    }
  }
  const [propArg, ...names] = r.rest;
  if (propArg === undefined) usageError("get", "missing property argument");
  const props = propArg === "all" ? ALL_PROPS : checkProps("get", propArg.split(","));
  const cells = (state: FakeState, e: Entity, emit: (row: string[]) => void): void => {
    for (const p of props) {
      const { value, source } = propValue(state, e, p, parsable);
      // `-s`: only values whose source is listed ("inherited from X" is "inherited", "-" is "none").
      const kind = source === "-" ? "none" : source.startsWith("inherited") ? "inherited" : source;
      if (sources !== null && !sources.includes(kind)) continue;
      const cell: Record<string, string> = { name: e.name, property: p, value, received: "-", source };
      emit(columns.map((c) => cell[c]!));
    }
  };
  const streamed = scripted ? streamEntities(names, { depth, kinds: types }) : null;
  if (streamed) {
    const output = new ScriptedOutput();
    for (const group of streamed.groups) for (const e of group) cells(streamed.state, e, (row) => output.add(row));
    output.flush();
    return streamed.failed ? 1 : 0;
  }
  const state = loadState(statePath(), names.length > 0 ? names : undefined);
  const collected = collect(state, names, { depth, kinds: types, implicitVersions: true });
  const { entities, failed } = collected;
  sortEntities(state, collected, []);
  const rows: string[][] = [];
  for (const e of entities) cells(state, e, (row) => rows.push(row));
  if (scripted) {
    const output = new ScriptedOutput();
    for (const row of rows) output.add(row);
    output.flush();
  } else printTable(columns.map((c) => c.toUpperCase()), rows);
  return failed ? 1 : 0;
}

// --- internal ---

function parseDepth(command: string, arg: string): number {
  if (!/^-?\d+$/.test(arg)) usageError(command, `${arg} is not an integer`);
  const depth = Number(arg);
  if (depth < 0) usageError(command, "Depth can not be negative.");
  return depth;
}

function parseTypes(command: string, arg: string): Kind[] {
  const kinds = new Set<Kind>();
  for (const t of arg.split(",")) {
    const k = TYPE_NAMES[t];
    if (!k) usageError(command, `invalid type '${t}'`);
    k.forEach((x) => kinds.add(x));
  }
  return [...kinds];
}

function checkProps(command: string, props: string[]): string[] {
  return props.map((p) => {
    const c = canonicalProp(p);
    if (c === null) usageError(command, `bad property list: invalid property '${p}'`);
    return c;
  });
}

/** Entities named by `names` (all pools when empty) and, with depth, their descendants. */
function collect(state: FakeState, names: string[], o: { depth: number; kinds: Kind[]; implicitVersions: boolean }) {
  const entities: Entity[] = [];
  // Each dataset's entities, for the default order (sortByDataset).
  const groups = new Map<string, Entity[]>();
  // Operands may overlap (`tank tank/a`); one walk meets every object once.
  const seen = names.length > 1 ? new Set<string>() : null;
  let failed = false;
  const kinds = new Set(o.kinds);
  const add = (e: Entity, dataset: string) => {
    if (!kinds.has(e.kind) || seen?.has(e.name)) return;
    seen?.add(e.name);
    entities.push(e);
    const group = groups.get(dataset);
    if (group) group.push(e);
    else groups.set(dataset, [e]);
  };
  // Children by parent, once: a wide pool has tens of thousands of datasets.
  const children = new Map<string, string[]>();
  for (const child of Object.keys(state.datasets)) {
    const slash = child.lastIndexOf("/");
    if (slash < 0) continue;
    const parent = child.slice(0, slash);
    (children.get(parent) ?? children.set(parent, []).get(parent)!).push(child);
  }
  const walk = (name: string, level: number) => {
    const ds = state.datasets[name]!;
    add({ kind: ds.type, name, ds }, name);
    if (level >= o.depth) return;
    for (const [snap, version] of Object.entries(ds.snapshots)) add({ kind: "snapshot", name: `${name}@${snap}`, ds, version }, name);
    for (const [bm, version] of Object.entries(ds.bookmarks)) add({ kind: "bookmark", name: `${name}#${bm}`, ds, version }, name);
    for (const child of children.get(name) ?? []) walk(child, level + 1);
  };
  // Without operands zfs iterates every pool recursively (zfs_for_each with argc == 0).
  if (names.length === 0) o.depth = Number.MAX_SAFE_INTEGER;
  const roots = names.length > 0 ? names : Object.keys(state.datasets).filter((n) => !n.includes("/"));
  for (const name of roots) {
    const sep = name.search(/[@#]/);
    const ds = state.datasets[sep < 0 ? name : name.slice(0, sep)];
    const version = sep < 0 ? undefined : name[sep] === "@" ? ds?.snapshots[name.slice(sep + 1)] : ds?.bookmarks[name.slice(sep + 1)];
    if (!ds || (sep >= 0 && !version)) {
      err(`cannot open '${name}': dataset does not exist\n`);
      failed = true;
      continue;
    }
    if (sep < 0) walk(name, 0);
    else {
      const kind: Kind = name[sep] === "@" ? "snapshot" : "bookmark";
      if (o.implicitVersions && !kinds.has(kind)) kinds.add(kind);
      add({ kind, name, ds, version: version! }, name.slice(0, sep));
    }
  }
  return { entities, groups, failed };
}

/**
 * zfs_sort: the given columns, then the dataset part by strcmp, the dataset before its snapshots,
 * its snapshots before its bookmarks (as OpenZFS 2.3 iterates them), each by createtxg.
 */
function sortEntities(state: FakeState, collected: { entities: Entity[]; groups: Map<string, Entity[]> }, sorts: { prop: string; desc: boolean }[]): void {
  const { entities, groups } = collected;
  if (sorts.length === 0) return sortByDataset(entities, groups);
  // Each entity's keys once: a wide pool lists hundreds of thousands of snapshots.
  const keyed = entities.map((e) => ({
    e,
    base: datasetPart(e),
    rank: RANK[e.kind],
    txg: txgOf(e),
    values: sorts.map(({ prop }) => propValue(state, e, prop, true).value),
  }));
  keyed.sort((a, b) => {
    for (const [i, { desc }] of sorts.entries()) {
      const va = a.values[i]!;
      const vb = b.values[i]!;
      const c = /^\d+$/.test(va) && /^\d+$/.test(vb) ? Math.sign(Number(BigInt(va) - BigInt(vb))) : va < vb ? -1 : va > vb ? 1 : 0;
      if (c !== 0) return desc ? -c : c;
    }
    return byDataset(a, b);
  });
  keyed.forEach((k, i) => (entities[i] = k.e));
}

/**
 * The default order without sorting every entity: datasets by name, each one's entities
 * (`groups`, a few dozen each) among themselves. A wide pool lists hundreds of thousands of
 * snapshots, and a sort of them all was a third of the fake's listing.
 */
function sortByDataset(entities: Entity[], groups: Map<string, Entity[]>): void {
  const bases = [...groups.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let i = 0;
  for (const base of bases) {
    const group = groups.get(base)!;
    if (group.length > 1) group.sort((a, b) => RANK[a.kind] - RANK[b.kind] || txgOf(a) - txgOf(b));
    for (const e of group) entities[i++] = e;
  }
}

const RANK: Record<Kind, number> = { filesystem: 0, volume: 0, snapshot: 1, bookmark: 2 };

function byDataset(a: { base: string; rank: number; txg: number }, b: { base: string; rank: number; txg: number }): number {
  if (a.base !== b.base) return a.base < b.base ? -1 : 1;
  if (a.rank !== b.rank) return a.rank - b.rank;
  return a.txg - b.txg;
}

function datasetPart(e: Entity): string {
  return e.kind === "snapshot" ? e.name.slice(0, e.name.indexOf("@")) : e.kind === "bookmark" ? e.name.slice(0, e.name.indexOf("#")) : e.name;
}

function txgOf(e: Entity): number {
  return e.kind === "snapshot" || e.kind === "bookmark" ? e.version.createtxg : -1;
}

/**
 * `-H` output, written as it is formatted, some thousands of lines at a time: a reader of a wide
 * listing gets its first lines while the rest are being made, as from zfs.
 */
class ScriptedOutput {
  #text = "";
  #lines = 0;

  add(cells: readonly string[]): void {
    this.#text += `${cells.join("\t")}\n`;
    if (++this.#lines === 4096) this.flush();
  }

  /** Writes what is pending. */
  flush(): void {
    if (this.#text !== "") out(this.#text);
    this.#text = "";
    this.#lines = 0;
  }
}

/** Output with a header line, each column as wide as its widest cell. */
function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")}\n`;
  out([headers, ...rows].map(line).join(""));
}
