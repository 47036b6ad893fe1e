/**
 * `zfs hold` / `zfs release` and the `userrefs` count. zfs-fuse has hold and release but its
 * `zfs holds` needs a Python helper it does not ship, so nothing here lists tags: `userrefs` says
 * whether anyone holds a snapshot, and a release that fails with "no such tag" says that tag was
 * not there (which `releaseHold` treats as done).
 */
import { eachAtOnce } from "../sys/each-at-once.ts";
import { ZfsError, zfsOutputError } from "./errors.ts";
import type { VersionName } from "./names.ts";
import type { ZfsRunOptions, ZfsRunner } from "./runner.ts";

/** Tags zferry places: letters, digits and `_.:-`, as zfs allows them in a tag without quoting trouble. */
const TAG = /^[A-Za-z0-9_.:-]{1,200}$/;

/** Snapshots named in one `zfs hold`, `zfs release` or `zfs get`: far below exec's argument limit. */
export const SNAPSHOTS_PER_CALL = 500;

/**
 * Commands run side by side where zfs holds or releases one snapshot an ioctl, each waiting for a
 * txg to sync (zfs without bookmarks: zfs-fuse); side by side they share the syncs. OpenZFS
 * takes all the names of a command in one ioctl.
 */
const SIDE_BY_SIDE = 4;

/** What zfs says of a release that had nothing to do: the tag was not there, or the snapshot is gone. */
const NOTHING_TO_RELEASE = /no such tag on this dataset|dataset does not exist/;

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
    if (error instanceof ZfsError && NOTHING_TO_RELEASE.test(error.stderr)) return false;
    throw error;
  }
}

/**
 * Places `tag` on each of `snapshots`, many to a `zfs hold` (zfs holds each on its own and goes
 * on past a failure). A batch that fails is redone one snapshot at a time, where an existing tag
 * counts as done, so that each failure is told apart.
 * @returns the snapshots (full names) that could not be held, each with its error
 * @throws TypeError for a malformed tag
 */
export async function placeHolds(runner: ZfsRunner, snapshots: readonly VersionName[], options: ZfsRunOptions & { tag: string }): Promise<Map<string, ZfsError>> {
  const { tag, ...run } = options;
  checkTag(tag);
  const failed = new Map<string, ZfsError>();
  await eachCommand(runner, snapshots, async (batch) => {
    try {
      await runner.run(["hold", tag, ...batch.map((s) => s.full)], run);
    } catch (error) {
      if (!(error instanceof ZfsError)) throw error;
      for (const snapshot of batch) {
        try {
          await placeHold(runner, snapshot, options);
        } catch (one) {
          if (!(one instanceof ZfsError)) throw one;
          failed.set(snapshot.full, one);
        }
      }
    }
  });
  return failed;
}

/**
 * Removes `tag` from each of `snapshots`, many to a `zfs release`; one without the tag, or gone,
 * is passed over as `releaseHold` does. Which were released is not told: read `holdCounts` after.
 * @throws TypeError for a malformed tag; ZfsError when zfs fails otherwise (the rest of that
 *   batch may have been released)
 */
export async function releaseHolds(runner: ZfsRunner, snapshots: readonly VersionName[], options: ZfsRunOptions & { tag: string }): Promise<void> {
  const { tag, ...run } = options;
  checkTag(tag);
  await eachCommand(runner, snapshots, async (batch) => {
    try {
      await runner.run(["release", tag, ...batch.map((s) => s.full)], run);
    } catch (error) {
      // zfs says one line for each snapshot it could not release, and goes on with the others.
      const lines = error instanceof ZfsError ? error.stderr.split("\n").filter((l) => l.trim() !== "") : [];
      if (!(error instanceof ZfsError) || lines.length === 0 || !lines.every((l) => NOTHING_TO_RELEASE.test(l))) throw error;
    }
  });
}

/**
 * How many holds each snapshot carries (`userrefs`), in one `zfs get` (one per SNAPSHOTS_PER_CALL).
 * @throws ZfsError when zfs fails or prints something unexpected
 */
export async function holdCounts(runner: ZfsRunner, snapshots: readonly VersionName[], options: ZfsRunOptions = {}): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const batch of batches(snapshots)) {
    const argv = ["get", "-H", "-p", "-o", "name,value", "userrefs", ...batch.map((s) => s.full)];
    for (const line of (await runner.run(argv, options)).split("\n")) {
      if (line === "") continue;
      const [name, value, extra] = line.split("\t");
      const n = Number(value);
      if (name === undefined || extra !== undefined || !Number.isSafeInteger(n) || n < 0) throw zfsOutputError(argv, `expected "name<TAB>count" in ${JSON.stringify(line.slice(0, 200))}`);
      counts.set(name, n);
    }
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

function* batches<T>(items: readonly T[], size = SNAPSHOTS_PER_CALL): Generator<readonly T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/**
 * Runs `command` for `snapshots` in batches: of SNAPSHOTS_PER_CALL one after the other, or,
 * where zfs takes one name an ioctl, split SIDE_BY_SIDE ways and run side by side.
 */
async function eachCommand<T>(runner: ZfsRunner, snapshots: readonly T[], command: (batch: readonly T[]) => Promise<void>): Promise<void> {
  const oneAnIoctl = !(await runner.capabilities()).bookmarks;
  const size = oneAnIoctl ? Math.min(SNAPSHOTS_PER_CALL, Math.ceil(snapshots.length / SIDE_BY_SIDE)) : SNAPSHOTS_PER_CALL;
  await eachAtOnce([...batches(snapshots, size)], oneAnIoctl ? SIDE_BY_SIDE : 1, command);
}

function checkTag(tag: string): void {
  if (!TAG.test(tag)) throw new TypeError(`Cannot use hold tag ${JSON.stringify(tag)}: use 1 to 200 of A-Z a-z 0-9 _ . : -`);
}
