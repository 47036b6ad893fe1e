/**
 * Placeholders: datasets zferry creates so that a replicated tree keeps its shape when a parent is
 * not itself replicated (pull `tank/a/b` without `tank/a`). They are never mounted
 * (canmount=off), pass mountpoint=none down to what is received below them, and are marked with
 * the user property zferry:placeholder=on so they can be told apart from real data.
 */
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
  const value = (await getProperties(runner, dataset, { ...options, properties: [PLACEHOLDER_PROPERTY] })).get(PLACEHOLDER_PROPERTY);
  return value?.value === "on" && value.source === "local";
}

