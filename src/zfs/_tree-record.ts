/**
 * What both ways of listing a tree share (tree-listing.ts on OpenZFS, tree-listing-get.ts on old
 * zfs): the depth arguments, the lines of a listing that may miss some roots, a record from an
 * object's columns.
 */
import { parseApproxBytes, parseUint64, resumeTokenOf } from "./_parse.ts";
import { ZfsError } from "./errors.ts";
import { parseDatasetName, parseVersionName, type DatasetName, type VersionShortName } from "./names.ts";
import { runZfsChunks, runZfsLines } from "./run-lines.ts";
import type { ZfsRunner } from "./runner.ts";
import type { ScanTreeOptions, TreeRecord } from "./tree-types.ts";

/** OpenZFS 2.2+: when a dataset's snapshots last changed. */
export const SNAPSHOTS_CHANGED = "snapshots_changed";

/** `-r` below the roots, `-d 1` (`-d 0` without versions) for the roots alone; every pool recursively without roots. */
export function depthArgs(roots: readonly DatasetName[], options: ScanTreeOptions, always = false): string[] {
  if (options.rootsOnly) return ["-d", options.versions === false ? "0" : "1", ...(always ? [] : roots)];
  return always || roots.length > 0 ? ["-r", ...(always ? [] : roots)] : [];
}

/** Which dataset records a listing yields: with rootsOnly, the roots' children that `-d 1` prints are left out. */
export function datasetFilter(roots: readonly DatasetName[], options: ScanTreeOptions): (name: string) => boolean {
  if (!options.rootsOnly) return () => true;
  const wanted = new Set<string>(roots);
  return (name) => wanted.has(name);
}

/** A listing's lines in batches (runZfsLines); with `missingRootsOk`, roots zfs could not open are left out rather than failing it. */
export function listingLines(runner: ZfsRunner, argv: readonly string[], roots: readonly DatasetName[], options: ScanTreeOptions): AsyncGenerator<readonly string[], void, undefined> {
  return missingRootsLeftOut(runZfsLines(argv, { ...options, bin: runner.bin }), roots, options);
}

/** A listing's output as it comes (runZfsChunks), missing roots as listingLines. */
export function listingChunks(runner: ZfsRunner, argv: readonly string[], roots: readonly DatasetName[], options: ScanTreeOptions): AsyncGenerator<Uint8Array, void, undefined> {
  return missingRootsLeftOut(runZfsChunks(argv, { ...options, bin: runner.bin }), roots, options);
}

async function* missingRootsLeftOut<T>(output: AsyncGenerator<T, void, undefined>, roots: readonly DatasetName[], options: ScanTreeOptions): AsyncGenerator<T, void, undefined> {
  try {
    yield* output;
  } catch (err) {
    if (options.missingRootsOk && err instanceof ZfsError && onlyMissingRoots(err, roots)) return;
    throw err;
  }
}

/** zfs exited 1 and all it said is that some of `roots` do not exist. */
function onlyMissingRoots(err: ZfsError, roots: readonly DatasetName[]): boolean {
  if (err.exitCode !== 1) return false;
  const lines = err.stderr.split("\n").filter((l) => l.trim() !== "");
  return lines.length > 0 && lines.every((l) => roots.some((root) => l.trim() === `cannot open '${root}': dataset does not exist`));
}

/**
 * One copy of each string: the dataset and short name of every version repeat (a tree's
 * snapshots are mostly taken together, under one name), and a wide listing holds millions.
 */
export function interner(): (s: string) => string {
  const seen = new Map<string, string>();
  return (s) => {
    const known = seen.get(s);
    if (known !== undefined) return known;
    const own = ownCopy(s);
    seen.set(own, own);
    return own;
  };
}

/**
 * A record from one object's columns; `value` gives a column's text, undefined when not listed.
 * A version's dataset and short name go through `intern`: they repeat (a tree's snapshots are
 * mostly taken together, under one name), and each would otherwise keep its line alive.
 */
export function makeRecord(name: string, value: (column: string) => string | undefined, intern: (s: string) => string = (s) => s): TreeRecord {
  const type = value("type");
  const number = (column: string): bigint | null => {
    const text = value(column);
    return text === undefined || text === "-" ? null : parseUint64(text, column);
  };
  const bytes = (column: string): number | null => {
    const text = value(column);
    return text === undefined || text === "-" ? null : parseApproxBytes(text, column);
  };
  if (type === "filesystem" || type === "volume") {
    const changed = number(SNAPSHOTS_CHANGED);
    const token = value("receive_resume_token");
    const encryption = value("encryption");
    // Every string kept is a copy or a literal: a slice of the line would keep the whole chunk of
    // the listing it was cut from alive (JavaScriptCore shares the buffer), some 30 MB for a
    // tree of ten thousand filesystems.
    return {
      kind: "dataset",
      dataset: {
        name: parseDatasetName(ownCopy(name)),
        type: type === "filesystem" ? "filesystem" : "volume",
        guid: number("guid"),
        snapshotsChanged: changed === null ? null : safeNumber(changed, SNAPSHOTS_CHANGED),
        resumeToken: token === undefined ? null : ownToken(resumeTokenOf(token)),
        placeholder: false,
        encryption: encryption === undefined || encryption === "-" ? null : ownCopy(encryption),
      },
    };
  }
  if (type !== "snapshot" && type !== "bookmark") throw new SyntaxError(`unexpected type ${JSON.stringify(type)}`);
  const parsed = parseVersionName(name);
  if (parsed.kind !== type) throw new SyntaxError(`a ${type} named ${JSON.stringify(name)}`);
  const guid = number("guid");
  const createtxg = number("createtxg");
  const creation = number("creation");
  if (guid === null || createtxg === null || creation === null) throw new SyntaxError("missing guid, createtxg or creation");
  return {
    kind: "version",
    dataset: intern(parsed.dataset) as DatasetName,
    version: { kind: type, name: intern(parsed.name) as VersionShortName, guid, createtxg, creation: safeNumber(creation, "creation"), referenced: type === "bookmark" ? null : bytes("referenced"), written: bytes("written") },
  };
}

/** `s` in a string of its own, not a slice of a larger one. */
export function ownCopy(s: string): string {
  return Buffer.from(s, "utf8").toString("utf8");
}

function ownToken(token: string | null): string | null {
  return token === null ? null : ownCopy(token);
}

function safeNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${what} ${value} is out of range`);
  return Number(value);
}
