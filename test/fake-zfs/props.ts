/**
 * Property values as `zfs list -o` / `zfs get` print them, for datasets, snapshots and bookmarks.
 */
import type { FakeDataset, FakeState, FakeVersion } from "./state.ts";
import { resumeTokenOf } from "./resume.ts";

export type Entity =
  | { kind: "filesystem" | "volume"; name: string; ds: FakeDataset }
  | { kind: "snapshot" | "bookmark"; name: string; ds: FakeDataset; version: FakeVersion };

const POOL_BYTES = 1 << 30;
const DEFAULT_REFERENCED = 98_304;

/** Settable native properties and their defaults. */
const SETTABLE: Record<string, string> = {
  mountpoint: "",
  readonly: "off",
  compression: "off",
  canmount: "on",
  atime: "on",
  recordsize: "131072",
  // Set at create time only, as in OpenZFS; children inherit it. The fake does not encrypt.
  encryption: "off",
  setuid: "on",
  devices: "on",
  exec: "on",
  sharenfs: "off",
  sharesmb: "off",
};
const ALIASES: Record<string, string> = { avail: "available", refer: "referenced", rdonly: "readonly", compress: "compression" };
const READONLY = new Set(["name", "type", "creation", "used", "available", "referenced", "guid", "createtxg", "receive_resume_token", "origin", "mounted", "written", "snapshots_changed", "userrefs"]);

/** Properties `zfs get all` shows, in order. */
export const ALL_PROPS = ["type", "creation", "used", "available", "referenced", "mountpoint", "guid", "createtxg", "readonly", "receive_resume_token"];

export function canonicalProp(name: string): string | null {
  let known = canonical.get(name);
  if (known === undefined) {
    const p = ALIASES[name] ?? name;
    known = p.includes(":") || READONLY.has(p) || p in SETTABLE ? p : null;
    canonical.set(name, known);
  }
  return known;
}
/** Looked up once per name: a wide listing asks for millions of cells. */
const canonical = new Map<string, string | null>();

export function isSettable(name: string): boolean {
  const p = ALIASES[name] ?? name;
  return p.includes(":") || p in SETTABLE;
}

/** The value and source column of one property, `-p` deciding between exact and human numbers. */
export function propValue(state: FakeState, e: Entity, prop: string, parsable: boolean): { value: string; source: string } {
  const p = canonicalProp(prop) ?? prop;
  const fixed = readonlyValue(e, p, parsable);
  if (fixed !== null) return ro(fixed);
  // A snapshot is encrypted as its dataset is (the value shows, without a source).
  if (p === "encryption" && e.kind === "snapshot") return ro(propValue(state, { kind: e.ds.type, name: e.name.slice(0, e.name.indexOf("@")), ds: e.ds }, p, parsable).value);
  if (e.kind === "snapshot" || e.kind === "bookmark") return ro("-");
  const own = e.ds.props[p];
  if (own !== undefined) return { value: own, source: "local" };
  const received = e.ds.received?.[p];
  if (received !== undefined) return { value: received, source: "received" };
  if (p.includes(":")) return ro("-");
  const inherited = inheritedValue(state, e.name, p);
  if (inherited) return inherited;
  if (p === "mountpoint") return { value: `/${e.name}`, source: "default" };
  return { value: SETTABLE[p] ?? "-", source: "default" };
}

/**
 * The value of a read-only property (canonical name `p`), which has no source; null for any other.
 * `zfs list` asks this first: a wide listing prints millions of such cells.
 */
export function readonlyValue(e: Entity, p: string, parsable: boolean): string | null {
  const isDataset = e.kind === "filesystem" || e.kind === "volume";
  const version = e.kind === "snapshot" || e.kind === "bookmark" ? e.version : undefined;
  const num = parsable ? String : nicenum;
  switch (p) {
    case "name":
      return e.name;
    case "type":
      return e.kind;
    case "guid":
      return version ? version.guid : e.ds.guid;
    case "createtxg":
      return String(version ? version.createtxg : e.ds.createtxg);
    case "creation": {
      const t = version ? version.creation : e.ds.creation;
      return parsable ? String(t) : formatDate(t);
    }
    case "used":
      return e.kind === "bookmark" ? "-" : num(isDataset ? (e.ds.referenced ?? DEFAULT_REFERENCED) : 0);
    case "available":
      return isDataset ? num(POOL_BYTES) : "-";
    case "referenced":
      // A bookmark keeps what its snapshot referred to (OpenZFS 2.x lists it).
      return num(e.ds.referenced ?? DEFAULT_REFERENCED);
    case "receive_resume_token":
      return isDataset ? (resumeTokenOf(e.ds) ?? "-") : "-";
    case "origin":
      return "-";
    case "written":
      // Space written since the previous snapshot: what a fresh snapshot's stream carries.
      return e.kind === "bookmark" ? "-" : num(version ? (version.payload ?? DEFAULT_REFERENCED) : 0);
    case "snapshots_changed": {
      const t = isDataset ? e.ds.snapshotsChanged : undefined;
      return t === undefined ? "-" : parsable ? String(t) : formatDate(t);
    }
    case "mounted":
      return e.kind === "filesystem" ? "yes" : "-";
    case "userrefs":
      return e.kind === "snapshot" ? String(Object.keys(e.version.holds ?? {}).length) : "-";
  }
  return null;
}

/** A read-only property's cells: it has no source. */
function ro(value: string): { value: string; source: string } {
  return { value, source: "-" };
}

/** zfs_nicenum for bytes: 512 → "512B", 2048 → "2K", 1.5 MiB → "1.50M". */
export function nicenum(n: number): string {
  const units = ["B", "K", "M", "G", "T", "P", "E"];
  let index = 0;
  let v = n;
  while (v >= 1024 && index < units.length - 1) {
    v /= 1024;
    index++;
  }
  if (index === 0 || n % 1024 ** index === 0) return `${Math.floor(v)}${units[index]}`;
  for (const digits of [2, 1, 0]) {
    const s = `${v.toFixed(digits)}${units[index]}`;
    if (s.length <= 5) return s;
  }
  return `${v.toFixed(0)}${units[index]}`;
}

// --- internal ---

function inheritedValue(state: FakeState, name: string, prop: string): { value: string; source: string } | null {
  for (let parent = name.slice(0, Math.max(name.lastIndexOf("/"), 0)); parent; parent = parent.slice(0, Math.max(parent.lastIndexOf("/"), 0))) {
    const value = state.datasets[parent]?.props[prop];
    if (value === undefined) continue;
    if (prop === "mountpoint" && value !== "none" && value !== "legacy") {
      return { value: `${value}${name.slice(parent.length)}`, source: `inherited from ${parent}` };
    }
    return { value, source: `inherited from ${parent}` };
  }
  return null;
}

/** ctime-like "%a %b %e %H:%M %Y", as zfs prints creation without -p. */
function formatDate(seconds: number): string {
  const d = new Date(seconds * 1000);
  const day = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][d.getDay()];
  const month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.getMonth()];
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${day} ${month} ${String(d.getDate()).padStart(2, " ")} ${pad(d.getHours())}:${pad(d.getMinutes())} ${d.getFullYear()}`;
}
