/**
 * Placeholders: datasets zferry creates so that a replicated tree keeps its shape when a parent is
 * not itself replicated (pull `tank/a/b` without `tank/a`). They are never mounted
 * (canmount=off), pass mountpoint=none down to what is received below them, and are marked with
 * the user property zferry:placeholder=on so they can be told apart from real data.
 */
import { ZfsError } from "./errors.ts";
import type { DatasetName } from "./names.ts";
import { getProperties } from "./properties.ts";
import type { ZfsRunOptions, ZfsRunner } from "./runner.ts";

export const PLACEHOLDER_PROPERTY = "zferry:placeholder";

/** Creates `dataset` as a placeholder (its parent must exist). */
export async function createPlaceholder(runner: ZfsRunner, dataset: DatasetName, options: ZfsRunOptions = {}): Promise<void> {
  await runner.run(["create", "-o", "canmount=off", "-o", "mountpoint=none", "-o", `${PLACEHOLDER_PROPERTY}=on`, dataset], {
    subject: `create placeholder ${JSON.stringify(dataset)}`,
    ...options,
  });
}

/** Whether `dataset` itself is a placeholder (the property set on it, not inherited). */
export async function isPlaceholder(runner: ZfsRunner, dataset: DatasetName, options: ZfsRunOptions = {}): Promise<boolean> {
  return isPlaceholderMark((await getProperties(runner, dataset, { ...options, properties: [PLACEHOLDER_PROPERTY] })).get(PLACEHOLDER_PROPERTY));
}

/** Whether a listed zferry:placeholder value marks its dataset itself (set on it, not inherited). */
export function isPlaceholderMark(mark: { readonly value: string; readonly source: string } | undefined): boolean {
  return mark?.value === "on" && mark.source === "local";
}


/**
 * Destroys placeholders created for a receive that left nothing in them, deepest first. One that
 * holds anything now (a child, a snapshot, a partial receive kept for resuming) stays: zfs destroy
 * without -r refuses it, and that is the point. Returns the names it could not remove.
 * @throws ZfsError for a failure other than "has children" / "busy" / missing
 */
export async function removePlaceholders(runner: ZfsRunner, created: readonly DatasetName[], options: ZfsRunOptions = {}): Promise<DatasetName[]> {
  const kept: DatasetName[] = [];
  for (const ds of [...created].reverse()) {
    try {
      if (!(await isPlaceholder(runner, ds, options))) {
        kept.push(ds);
        continue;
      }
      await runner.run(["destroy", ds], { subject: `remove placeholder ${JSON.stringify(ds)}`, ...options });
    } catch (err) {
      if (!(err instanceof ZfsError)) throw err;
      if (err.isDatasetMissing) continue;
      if (/has children|busy|has dependent|snapshots/i.test(err.stderr)) kept.push(ds);
      else throw err;
    }
  }
  return kept;
}
