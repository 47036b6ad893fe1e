/**
 * `zfs create`, `snapshot`, `bookmark`, `destroy` (also `fs@a,b,c`, refusing held snapshots) and `set`: enough to build fixtures through the
 * fake itself, with OpenZFS's messages and exit codes for the common failures.
 */
import { fail } from "./_exit.ts";
import { getopt } from "./_getopt.ts";
import { canonicalProp, isSettable } from "./props.ts";
import { newDataset, nextTxg, now, newGuid, parentOf, updateState, type FakeState } from "./state.ts";
import { usage, usageError } from "./usage.ts";

export function cmdCreate(args: string[]): number {
  const r = getopt(args, ":PV:b:nso:pvu");
  if (!r.ok) usageError("create", r.message);
  let parents = false;
  let volume = false;
  const props: Record<string, string> = {};
  for (const { opt, arg = "" } of r.opts) {
    if (opt === "p") parents = true;
    else if (opt === "V") volume = true;
    else if (opt === "o") Object.assign(props, parseProp("create", arg));
  }
  if (r.rest.length === 0) usageError("create", "missing filesystem argument");
  if (r.rest.length > 1) usageError("create", "too many arguments");
  const name = r.rest[0]!;
  const what = `cannot create '${name}'`;
  for (const key of Object.keys(props)) if (!isSettable(key)) fail(1, `${what}: invalid property '${key}'`);
  updateState((state) => {
    const pool = name.split("/")[0]!;
    if (!state.datasets[pool]) fail(1, `${what}: no such pool '${pool}'`);
    if (!name.includes("/")) fail(1, `${what}: missing dataset name`);
    if (state.datasets[name]) fail(1, `${what}: dataset already exists`);
    const missing: string[] = [];
    for (let p = parentOf(name); p && !state.datasets[p]; p = parentOf(p)) missing.unshift(p);
    if (missing.length > 0 && !parents) fail(1, `${what}: parent does not exist`);
    for (const p of missing) state.datasets[p] = newDataset(state);
    state.datasets[name] = { ...newDataset(state, volume ? "volume" : "filesystem"), props };
  });
  return 0;
}

export function cmdSnapshot(args: string[]): number {
  const r = getopt(args, ":ro:");
  if (!r.ok) usageError("snapshot", r.message);
  const recursive = r.opts.some((o) => o.opt === "r");
  if (r.rest.length === 0) usageError("snapshot", "missing snapshot argument");
  updateState((state) => {
    const todo: [string, string][] = [];
    for (const arg of r.rest) {
      const at = arg.indexOf("@");
      if (at < 0) usage("snapshot");
      const ds = arg.slice(0, at);
      if (!state.datasets[ds]) usageError("snapshot", `cannot open '${ds}': dataset does not exist`);
      todo.push([ds, arg.slice(at + 1)]);
      if (recursive) for (const child of Object.keys(state.datasets)) if (child.startsWith(`${ds}/`)) todo.push([child, arg.slice(at + 1)]);
    }
    const multiple = todo.length > 1;
    for (const [ds, snap] of todo) {
      if (state.datasets[ds]!.snapshots[snap]) {
        fail(1, `cannot create snapshot '${ds}@${snap}': dataset already exists${multiple ? "\nno snapshots were created" : ""}`);
      }
    }
    const txg = nextTxg(state);
    const payload = sendBytes();
    for (const [ds, snap] of todo) {
      state.datasets[ds]!.snapshots[snap] = { guid: newGuid(), createtxg: txg, creation: now(), payload };
      state.datasets[ds]!.snapshotsChanged = now();
    }
  });
  return 0;
}

export function cmdBookmark(args: string[]): number {
  const r = getopt(args, "");
  if (!r.ok) usageError("bookmark", r.message);
  const [source, target, extra] = r.rest;
  if (source === undefined) usageError("bookmark", "missing snapshot argument");
  if (target === undefined) usageError("bookmark", "missing bookmark argument");
  if (extra !== undefined) usageError("bookmark", "too many arguments");
  if (!/[@#]/.test(source)) usageError("bookmark", `invalid source name '${source}': must contain a '@' or '#'`);
  if (!target.includes("#")) usageError("bookmark", `invalid bookmark name '${target}': must contain a '#'`);
  const sep = source.search(/[@#]/);
  const ds = source.slice(0, sep);
  const full = target.startsWith("#") ? `${ds}${target}` : target;
  const what = `cannot create bookmark '${full}'`;
  updateState((state) => {
    const d = state.datasets[ds];
    const version = source[sep] === "@" ? d?.snapshots[source.slice(sep + 1)] : d?.bookmarks[source.slice(sep + 1)];
    if (!d || !version) fail(1, `cannot open '${source}': dataset does not exist`);
    const [bds, bname] = full.split("#") as [string, string];
    if (bds !== ds) fail(1, `${what}: source is not an ancestor of the new bookmark's dataset`);
    if (d.bookmarks[bname]) fail(1, `${what}: bookmark exists`);
    // A bookmark keeps its snapshot's guid, createtxg and creation.
    d.bookmarks[bname] = { guid: version.guid, createtxg: version.createtxg, creation: version.creation, payload: version.payload };
  });
  return 0;
}

export function cmdDestroy(args: string[]): number {
  const r = getopt(args, ":rRfnpdv");
  if (!r.ok) usageError("destroy", r.message);
  const recursive = r.opts.some((o) => o.opt === "r" || o.opt === "R");
  if (r.rest.length === 0) usageError("destroy", "missing dataset argument");
  if (r.rest.length > 1) usageError("destroy", "too many arguments");
  const name = r.rest[0]!;
  updateState((state) => {
    const sep = name.search(/[@#]/);
    if (sep >= 0) return destroyVersion(state, name.slice(0, sep), name[sep]!, name.slice(sep + 1), recursive);
    if (!state.datasets[name]) fail(1, `cannot open '${name}': dataset does not exist`);
    if (!name.includes("/")) {
      fail(1, `cannot destroy '${name}': operation does not apply to pools\nuse 'zfs destroy -r ${name}' to destroy all datasets in the pool\nuse 'zpool destroy ${name}' to destroy the pool itself`);
    }
    const children = Object.keys(state.datasets).filter((n) => n.startsWith(`${name}/`));
    const snaps = Object.keys(state.datasets[name]!.snapshots).map((s) => `${name}@${s}`);
    if (!recursive && children.length > 0) fail(1, `cannot destroy '${name}': filesystem has children\nuse '-r' to destroy the following datasets:\n${children.join("\n")}`);
    if (!recursive && snaps.length > 0) fail(1, `cannot destroy '${name}': filesystem has children\nuse '-r' to destroy the following datasets:\n${snaps.join("\n")}`);
    for (const n of [name, ...children]) delete state.datasets[n];
  });
  return 0;
}

export function cmdSet(args: string[]): number {
  const r = getopt(args, "u");
  if (!r.ok) usageError("set", r.message);
  const assignments = r.rest.filter((a) => a.includes("="));
  const names = r.rest.filter((a) => !a.includes("="));
  if (r.rest.length < 2) usageError("set", assignments.length === 0 ? "missing property=value argument(s)" : "missing dataset name(s)");
  const props: Record<string, string> = {};
  for (const a of assignments) Object.assign(props, parseProp("set", a));
  updateState((state) => {
    for (const name of names) {
      const ds = state.datasets[name];
      if (!ds) fail(1, `cannot open '${name}': dataset does not exist`);
      for (const [k, v] of Object.entries(props)) {
        const p = canonicalProp(k);
        if (p === null || !isSettable(p)) {
          fail(1, `cannot set property for '${name}': ${p === null ? `invalid property '${k}'` : `'${k}' is readonly`}`);
        }
        ds.props[p] = v;
      }
    }
  });
  return 0;
}

/** `zfs inherit property dataset`: drops the local value and overrides a received one. */
export function cmdInherit(args: string[]): number {
  const r = getopt(args, "rS");
  if (!r.ok) usageError("inherit", r.message);
  if (r.rest.length < 1) usageError("inherit", "missing property argument");
  if (r.rest.length < 2) usageError("inherit", "missing dataset argument");
  const [k, ...names] = r.rest as [string, ...string[]];
  const p = canonicalProp(k);
  if (p === null) usageError("inherit", `invalid property '${k}'`);
  updateState((state) => {
    for (const name of names) {
      const ds = state.datasets[name];
      if (!ds) fail(1, `cannot open '${name}': dataset does not exist`);
      delete ds.props[p];
      if (ds.received) delete ds.received[p];
    }
  });
  return 0;
}

/** Payload bytes of a new snapshot's stream: FAKE_ZFS_SEND_BYTES, or 64 KiB. */
export function sendBytes(): number {
  return envSendBytes() ?? DEFAULT_SEND_BYTES;
}

/** FAKE_ZFS_SEND_BYTES when set to a valid byte count. */
export function envSendBytes(): number | undefined {
  const raw = process.env.FAKE_ZFS_SEND_BYTES;
  const n = Number(raw);
  return raw !== undefined && raw !== "" && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

// --- internal ---

const DEFAULT_SEND_BYTES = 64 * 1024;

function parseProp(command: string, arg: string): Record<string, string> {
  const eq = arg.indexOf("=");
  if (eq < 0) usageError(command, "missing '=' for property=value argument");
  return { [arg.slice(0, eq)]: arg.slice(eq + 1) };
}

function destroyVersion(state: FakeState, ds: string, sep: string, short: string, recursive: boolean): void {
  const targets = [ds, ...(recursive ? Object.keys(state.datasets).filter((n) => n.startsWith(`${ds}/`)) : [])];
  if (sep === "#") {
    const d = state.datasets[ds];
    if (!d?.bookmarks[short]) fail(1, `bookmark '${ds}#${short}' does not exist`);
    delete d.bookmarks[short];
    return;
  }
  // `fs@a,b,c`: names that do not exist are skipped; one held snapshot fails the whole call
  // (lzc_destroy_snaps is atomic), with a line per held snapshot.
  const found: [string, string][] = [];
  for (const t of targets) for (const snap of short.split(",")) if (state.datasets[t]?.snapshots[snap]) found.push([t, snap]);
  if (found.length === 0) fail(1, "could not find any snapshots to destroy; check snapshot names.");
  const held = found.filter(([t, snap]) => Object.keys(state.datasets[t]!.snapshots[snap]!.holds ?? {}).length > 0);
  if (held.length > 0) fail(1, held.map(([t, snap]) => `cannot destroy snapshot ${t}@${snap}: dataset is busy`).join("\n"));
  for (const [t, snap] of found) {
    delete state.datasets[t]!.snapshots[snap];
    state.datasets[t]!.snapshotsChanged = now();
  }
}
