/**
 * ZFS name validation, after OpenZFS's entity_namecheck()/pool_namecheck(). Every name that comes
 * from a peer or a config file passes through here once; past it, code takes the branded types,
 * never a raw string, so an unchecked name cannot reach a `zfs` argv.
 */

/** A checked filesystem or volume name: `pool/a/b`. */
export type DatasetName = string & { readonly __brand: "DatasetName" };
/** A checked snapshot or bookmark short name: the part after `@` or `#`. */
export type VersionShortName = string & { readonly __brand: "VersionShortName" };

export type VersionKind = "snapshot" | "bookmark";

/** A checked snapshot (`pool/a@s1`) or bookmark (`pool/a#b1`). */
export interface VersionName {
  readonly dataset: DatasetName;
  readonly kind: VersionKind;
  readonly name: VersionShortName;
  /** `dataset@name` or `dataset#name` */
  readonly full: string;
}

/** ZFS_MAX_DATASET_NAME_LEN is 256 including the terminating NUL. */
export const MAX_NAME_LENGTH = 255;

/** A name that breaks ZFS naming rules. */
export class NameError extends TypeError {
  override name = "NameError";
}

const VALID_CHAR = /^[A-Za-z0-9_.: -]$/;
/** A name whose every character is valid: checked at once, character by character only to say which one is not. */
const VALID_CHARS = /^[A-Za-z0-9_.: -]*$/;
const RESERVED_POOL_NAMES = new Set(["mirror", "raidz", "draid", "spare", "log"]);

/**
 * Checks a filesystem/volume name.
 * @throws NameError naming the rule that failed
 */
export function parseDatasetName(input: unknown): DatasetName {
  const s = requireString(input, "dataset");
  checkLength(s, "dataset");
  if (s.includes("@") || s.includes("#")) {
    throw new NameError(`Invalid dataset name ${quote(s)}: "@" and "#" belong to snapshot and bookmark names`);
  }
  const parts = s.split("/");
  parts.forEach((part, i) => checkComponent(s, part, i === 0));
  return s as DatasetName;
}

/**
 * Checks a snapshot or bookmark name (`ds@snap`, `ds#bm`).
 * @throws NameError naming the rule that failed
 */
export function parseVersionName(input: unknown): VersionName {
  const s = requireString(input, "snapshot");
  checkLength(s, "snapshot");
  const at = s.search(/[@#]/);
  if (at < 0) throw new NameError(`Invalid snapshot name ${quote(s)}: expected "dataset@snapshot" or "dataset#bookmark"`);
  const dataset = parseDatasetName(s.slice(0, at));
  const kind: VersionKind = s[at] === "@" ? "snapshot" : "bookmark";
  const name = parseVersionShortName(s.slice(at + 1), kind);
  return { dataset, kind, name, full: s };
}

/**
 * Checks the short part of a snapshot or bookmark name.
 * @throws NameError naming the rule that failed
 */
export function parseVersionShortName(input: unknown, kind: VersionKind = "snapshot"): VersionShortName {
  const s = requireString(input, kind);
  if (s.length === 0) throw new NameError(`Invalid ${kind} name: empty`);
  if (s.length > MAX_NAME_LENGTH) throw new NameError(`Invalid ${kind} name ${quote(s)}: longer than ${MAX_NAME_LENGTH} bytes`);
  if (VALID_CHARS.test(s)) return s as VersionShortName;
  for (const ch of s) {
    if (ch === "@" || ch === "#" || ch === "/") {
      throw new NameError(`Invalid ${kind} name ${quote(s)}: "${ch}" is not allowed here`);
    }
    if (!VALID_CHAR.test(ch)) throw new NameError(`Invalid ${kind} name ${quote(s)}: character ${quote(ch)} is not allowed`);
  }
  return s as VersionShortName;
}

/** Builds the full name of a version of a dataset. */
export function versionOf(dataset: DatasetName, kind: VersionKind, name: VersionShortName): VersionName {
  return { dataset, kind, name, full: `${dataset}${kind === "snapshot" ? "@" : "#"}${name}` };
}

/** True when `child` is `parent` or lies below it (`tank/a` is not below `tank/ab`). */
export function isSameOrBelow(child: string, parent: string): boolean {
  return child === parent || child.startsWith(`${parent}/`);
}

/** Quotes a name for an error message, escaping control characters so newlines stay visible. */
export function quote(s: string): string {
  return JSON.stringify(s);
}

// --- internal ---

function requireString(input: unknown, what: string): string {
  if (typeof input !== "string") throw new NameError(`Invalid ${what} name: expected a string, got ${typeof input}`);
  return input;
}

function checkLength(s: string, what: string): void {
  if (s.length === 0) throw new NameError(`Invalid ${what} name: empty`);
  if (Buffer.byteLength(s) > MAX_NAME_LENGTH) {
    throw new NameError(`Invalid ${what} name ${quote(s.slice(0, 40))}…: longer than ${MAX_NAME_LENGTH} bytes`);
  }
}

function checkComponent(full: string, part: string, isPool: boolean): void {
  if (part.length === 0) throw new NameError(`Invalid dataset name ${quote(full)}: empty component`);
  if (part === "." || part === "..") {
    throw new NameError(`Invalid dataset name ${quote(full)}: component ${quote(part)} is not allowed`);
  }
  if (!VALID_CHARS.test(part)) {
    for (const ch of part) {
      if (!VALID_CHAR.test(ch)) throw new NameError(`Invalid dataset name ${quote(full)}: character ${quote(ch)} is not allowed`);
    }
  }
  if (isPool) {
    if (!/^[A-Za-z]/.test(part)) throw new NameError(`Invalid dataset name ${quote(full)}: the pool name must begin with a letter`);
    if (RESERVED_POOL_NAMES.has(part) || /^c[0-9]/.test(part)) {
      throw new NameError(`Invalid dataset name ${quote(full)}: pool name ${quote(part)} is reserved`);
    }
  } else if (part.startsWith("-")) {
    throw new NameError(`Invalid dataset name ${quote(full)}: a component may not begin with "-"`);
  }
}
