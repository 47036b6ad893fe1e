/**
 * What both receiving sides (pull's target, the server's receive_root) do after a receive.
 */
import type { DatasetName } from "./names.ts";
import { PLACEHOLDER_PROPERTY } from "./placeholder.ts";
import { getProperties, setProperties } from "./properties.ts";
import type { ZfsRunner } from "./runner.ts";

/**
 * Marks a dataset that has received data: it stops being a placeholder and becomes readonly=on
 * (as zrepl does). On zfs without `recv -u` (zfs-fuse) a mounted target that is merely read counts
 * as modified and blocks the next incremental receive; readonly keeps it untouched.
 */
export async function markReceived(runner: ZfsRunner, target: DatasetName, options: { wasPlaceholder: boolean }): Promise<void> {
  const props = await getProperties(runner, target, { properties: ["readonly", PLACEHOLDER_PROPERTY] });
  const values: Record<string, string> = {};
  // zfs-fuse reports readonly "off (temporary)" after remounting a received dataset: set it again.
  if (props.get("readonly")?.value !== "on" || props.get("readonly")?.source !== "local") values.readonly = "on";
  if (options.wasPlaceholder && props.get(PLACEHOLDER_PROPERTY)?.source === "local") values[PLACEHOLDER_PROPERTY] = "off";
  if (Object.keys(values).length > 0) await setProperties(runner, target, { values });
}
