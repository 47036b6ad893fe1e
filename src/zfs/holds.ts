/**
 * `zfs hold` / `zfs release` and the `userrefs` count. zfs-fuse has hold and release but its
 * `zfs holds` needs a Python helper it does not ship, so nothing here lists tags: `userrefs` says
 * whether anyone holds a snapshot, and a release that fails with "no such tag" says that tag was
 * not there (which `releaseHold` treats as done).
 */
import { ZfsError, zfsOutputError } from "./errors.ts";
import type { VersionName } from "./names.ts";
import type { ZfsRunOptions, ZfsRunner } from "./runner.ts";

/** Tags zferry places: letters, digits and `_.:-`, as zfs allows them in a tag without quoting trouble. */
const TAG = /^[A-Za-z0-9_.:-]{1,200}$/;

/**
 * Places `tag` on `snapshot`; an existing hold with that tag counts as done.
 * @throws TypeError for a malformed tag; ZfsError when zfs fails otherwise
 */
export async function placeHold(runner: ZfsRunner, snapshot: VersionName, options: ZfsRunOptions & { tag: string }): Promise<void> {
  const { tag, ...run } = options;
  checkTag(tag);
  try {
    await runner.run(["hold", tag, snapshot.full], run);
  } catch (error) {
    if (!(error instanceof ZfsError && /tag already exists on this dataset/.test(error.stderr))) throw error;
  }
}

/**
 * Removes `tag` from `snapshot`. Returns false when it was not there (or the snapshot is gone).
 * @throws TypeError for a malformed tag; ZfsError when zfs fails otherwise
 */
export async function releaseHold(runner: ZfsRunner, snapshot: VersionName, options: ZfsRunOptions & { tag: string }): Promise<boolean> {
  const { tag, ...run } = options;
  checkTag(tag);
  try {
    await runner.run(["release", tag, snapshot.full], run);
    return true;
  } catch (error) {
    if (error instanceof ZfsError && /no such tag on this dataset|dataset does not exist/.test(error.stderr)) return false;
    throw error;
  }
}

/**
 * How many holds each snapshot carries (`userrefs`), in one `zfs get`.
 * @throws ZfsError when zfs fails or prints something unexpected
 */
export async function holdCounts(runner: ZfsRunner, snapshots: readonly VersionName[], options: ZfsRunOptions = {}): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (snapshots.length === 0) return counts;
  const argv = ["get", "-H", "-p", "-o", "name,value", "userrefs", ...snapshots.map((s) => s.full)];
  for (const line of (await runner.run(argv, options)).split("\n")) {
    if (line === "") continue;
    const [name, value, extra] = line.split("\t");
    const n = Number(value);
    if (name === undefined || extra !== undefined || !Number.isSafeInteger(n) || n < 0) throw zfsOutputError(argv, `expected "name<TAB>count" in ${JSON.stringify(line.slice(0, 200))}`);
    counts.set(name, n);
  }
  return counts;
}

/** The tag that protects one identity's incremental base: `zferry_<identity>`. */
export function holdTag(identity: string): string {
  const tag = `zferry_${identity}`;
  checkTag(tag);
  return tag;
}

// --- internal ---

function checkTag(tag: string): void {
  if (!TAG.test(tag)) throw new TypeError(`Cannot use hold tag ${JSON.stringify(tag)}: use 1 to 200 of A-Z a-z 0-9 _ . : -`);
}
