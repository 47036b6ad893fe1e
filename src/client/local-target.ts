/**
 * The receiving side of a pull, on this machine: what the target dataset holds (for the planner),
 * the placeholders that keep the tree's shape, and what a received dataset is left as.
 *
 * What a received dataset is left as (confined, no longer a placeholder) is zfs/confine.ts.
 */
import {
  PLACEHOLDER_PROPERTY,
  createPlaceholder,
  decodeResumeToken,
  getProperties,
  getResumeToken,
  listVersions,
  mountpointForChildOf,
  parseDatasetName,
  quote,
  type DatasetName,
  type ZfsCapabilities,
  type ZfsRunner,
} from "../zfs/index.ts";
import { planVersionOf, type PlanTarget } from "./plan.ts";

/**
 * Reads the target's versions, whether it is a zferry placeholder (the property set on the dataset
 * itself: it is inherited by every child), and a partial receive's token, decoded.
 * @throws ZfsError when zfs fails
 */
export async function inspectLocalTarget(runner: ZfsRunner, target: DatasetName, options: { exists: boolean }): Promise<PlanTarget> {
  if (!options.exists) return { name: target, exists: false, placeholder: false, versions: [] };
  // Three independent reads: one process start each, side by side.
  const [listed, props, token] = await Promise.all([
    listVersions(runner, target),
    getProperties(runner, target, { properties: [PLACEHOLDER_PROPERTY] }),
    getResumeToken(runner, target),
  ]);
  const versions = listed.map(planVersionOf);
  const mark = props.get(PLACEHOLDER_PROPERTY);
  const placeholder = mark?.value === "on" && mark.source === "local";
  if (!token) return { name: target, exists: true, placeholder, versions };
  const info = await decodeResumeToken(runner, token);
  return { name: target, exists: true, placeholder, versions, resume: { token, toguid: info.toguid, ...(info.fromguid === undefined ? {} : { fromguid: info.fromguid }) } };
}

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

