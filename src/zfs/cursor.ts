/**
 * Bookmark cursors (OpenZFS): `pool/fs#zferry_<identity>_<snapshot>` marks the incremental base of
 * one identity, so an incremental send can still start there after the snapshot itself is gone.
 * Named after the snapshot (not its guid) so an admin reads at a glance what it points at.
 */
import { ZfsError } from "./errors.ts";
import { versionOf, parseVersionShortName, type DatasetName, type VersionShortName } from "./names.ts";
import type { ZfsRunOptions, ZfsRunner } from "./runner.ts";

/** The cursor name of `identity` for `snapshot`: `zferry_<identity>_<snapshot>`. */
export function cursorName(identity: string, snapshot: VersionShortName): VersionShortName {
  return parseVersionShortName(`${cursorPrefix(identity)}${snapshot}`, "bookmark");
}

/** Bookmark names of `identity`'s cursors start with this. */
export function cursorPrefix(identity: string): string {
  return `zferry_${identity}_`;
}

/**
 * Bookmarks `dataset@snapshot` as the identity's cursor and destroys its older cursors
 * (`existing`: the dataset's bookmark names). An existing cursor of that name counts as done.
 * @returns the cursor's name and the cursors destroyed
 * @throws ZfsError when zfs fails otherwise
 */
export async function moveCursor(
  runner: ZfsRunner,
  dataset: DatasetName,
  options: ZfsRunOptions & { identity: string; snapshot: VersionShortName; existing: readonly string[] },
): Promise<{ cursor: VersionShortName; removed: string[] }> {
  const { identity, snapshot, existing, ...run } = options;
  const cursor = cursorName(identity, snapshot);
  try {
    await runner.run(["bookmark", versionOf(dataset, "snapshot", snapshot).full, versionOf(dataset, "bookmark", cursor).full], run);
  } catch (error) {
    if (!(error instanceof ZfsError && /bookmark exists/.test(error.stderr))) throw error;
  }
  const removed: string[] = [];
  for (const name of existing) {
    if (name === cursor || !name.startsWith(cursorPrefix(identity))) continue;
    await runner.run(["destroy", `${dataset}#${name}`], run);
    removed.push(name);
  }
  return { cursor, removed };
}
