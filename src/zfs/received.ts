/**
 * What both receiving sides (pull's target, the server's receive_root) leave a received dataset
 * as: readonly=on and no longer a placeholder. Where zfs can set properties in the receive itself
 * (`zfs receive -o`, OpenZFS), `receivedProperties` go into its argv and nothing runs after it;
 * elsewhere (zfs-fuse) `markReceived` sets them afterwards. On OpenZFS a `zfs set` waits for a
 * transaction group to sync, so the first way also saves that wait.
 */
import type { DatasetName } from "./names.ts";
import { PLACEHOLDER_PROPERTY } from "./placeholder.ts";
import { getProperties, setProperties } from "./properties.ts";
import type { ZfsRunner } from "./runner.ts";

/** The properties a receive sets with `-o` (see `ZfsCapabilities.recvProperties`). */
export function receivedProperties(options: { wasPlaceholder: boolean }): Record<string, string> {
  return options.wasPlaceholder ? { readonly: "on", [PLACEHOLDER_PROPERTY]: "off" } : { readonly: "on" };
}

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
