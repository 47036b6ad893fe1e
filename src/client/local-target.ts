/**
 * The receiving side of a pull, on this machine: the placeholders that keep the tree's shape.
 * (What the target holds comes from the job's one listing, pull.ts; what a received dataset is
 * left as is zfs/confine.ts.)
 */
import { createPlaceholder, mountpointForChildOf, parseDatasetName, quote, type DatasetName, type ZfsCapabilities, type ZfsRunner } from "../zfs/index.ts";

/**
 * Creates the missing datasets between `root` (which must exist) and `target` as placeholders,
 * and, where zfs cannot receive unmounted, checks that a new target would not be mounted.
 * @returns the placeholders it created, parents first
 * @throws Error saying what to change when the target would be mounted
 */
export async function prepareParents(
  runner: ZfsRunner,
  target: DatasetName,
  options: { root: DatasetName; existing: Set<string>; caps: ZfsCapabilities },
): Promise<DatasetName[]> {
  const { root, existing, caps } = options;
  const parts = target.slice(root.length + 1).split("/");
  const created: DatasetName[] = [];
  let current: string = root;
  for (const part of parts.slice(0, -1)) {
    current = `${current}/${part}`;
    if (existing.has(current)) continue;
    const ds = parseDatasetName(current);
    await createPlaceholder(runner, ds);
    existing.add(current);
    created.push(ds);
  }
  if (caps.recvNoMount || existing.has(target)) return created;
  // No `zfs recv -u`: the new dataset mounts wherever its inherited mountpoint points.
  const parent = parseDatasetName(target.slice(0, target.lastIndexOf("/")));
  const mountpoint = await mountpointForChildOf(runner, parent);
  if (mountpoint !== null) {
    throw new Error(
      `Cannot receive into ${quote(target)}: this zfs cannot receive without mounting (no "zfs receive -u") and ${quote(parent)} ` +
        `passes down mountpoint ${quote(mountpoint)}; set mountpoint=none on ${quote(parent)}`,
    );
  }
  return created;
}

