/**
 * What a pull received that the streams' first records could not vouch for (a `-I` stream's
 * snapshots, pull-step.ts checkStepHead), checked against the source's GUIDs in one listing of
 * those targets at the end of the job (one zfs process, not one per snapshot). `zfs receive`
 * itself refuses an incremental stream whose source is not the target's newest snapshot; this
 * check catches a snapshot the sender replaced between the plan and the send.
 */
import { quote, readTree, type DatasetName, type TreeNode, type ZfsRunner } from "../zfs/index.ts";
import type { PlanVersion } from "./plan.ts";

/** Snapshots that arrived in `target`, for the filesystem the job calls `name`. */
export interface Received {
  readonly target: DatasetName;
  readonly name: string;
  readonly snapshots: readonly PlanVersion[];
}

/**
 * Checks, in one listing of the targets, that every snapshot received has the source's GUID.
 * @returns the filesystems whose snapshots did not check out, with the reason
 */
export async function verifyReceived(runner: ZfsRunner, received: readonly Received[]): Promise<Map<string, string>> {
  const failed = new Map<string, string>();
  if (received.length === 0) return failed;
  let tree: Map<string, TreeNode>;
  try {
    tree = await readTree(runner, [...new Set(received.map((r) => r.target))], { rootsOnly: true, missingRootsOk: true });
  } catch (err) {
    for (const r of received) failed.set(r.name, `could not check the received snapshots: ${(err as Error).message}`);
    return failed;
  }
  for (const { target, name, snapshots } of received) {
    const have = tree.get(target)?.versions ?? [];
    for (const expected of snapshots) {
      const full = `${target}@${expected.name}`;
      const snap = have.find((v) => v.name.kind === "snapshot" && v.name.name === expected.name);
      if (!snap) failed.set(name, `receive ${quote(full)}: zfs reported success but the snapshot is not there`);
      else if (snap.guid !== expected.guid) failed.set(name, `receive ${quote(full)}: it has GUID ${snap.guid}, the source's has ${expected.guid}`);
      if (failed.has(name)) break;
    }
  }
  return failed;
}
