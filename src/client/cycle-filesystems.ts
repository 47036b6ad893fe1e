/**
 * How a backup cycle goes over the filesystems that replicated, to protect and prune them: each
 * side listed once (the server's `list_tree`, one tree listing here), not twice a filesystem, then
 * `concurrency` filesystems at a time on the job's sessions, as the replication goes. The server
 * still checks every hold and destroy against its own zfs.
 */
import type { TreeVersionEntry, VersionEntry } from "../api/index.ts";
import type { Config, JobConfig } from "../config/index.ts";
import { quote, readTree, type DatasetName, type TreeNode, type ZfsRunner, type ZfsVersion } from "../zfs/index.ts";
import { jobLanes, openFirstLane } from "./lanes.ts";
import type { ClientOutput } from "./output.ts";
import { runTree } from "./parallel-tree.ts";
import { explainRpcError, type JobSession } from "./session.ts";

/**
 * Lists both sides once (`list`, on the job's first session), then runs `step` for each of
 * `filesystems` with what it listed. A failed listing, a failed step and a filesystem no session
 * could take (every connection broke) are one problem line each; the other filesystems go on.
 * @throws Error when not even the job's first session opens
 */
export async function forEachListed<S>(
  config: Config,
  job: JobConfig,
  args: { filesystems: readonly string[]; output: ClientOutput; problems: string[] },
  list: (session: JobSession) => Promise<S>,
  step: (name: string, session: JobSession, sides: S) => Promise<void>,
): Promise<void> {
  const failed = (what: string, why: string) => {
    args.problems.push(`${what}: ${why}`);
    args.output.error(`zferry: run ${job.name}: ${what}: ${why}`);
  };
  const first = await openFirstLane(config, job);
  try {
    const identity = first.session.info.identity;
    let sides: S;
    try {
      sides = await list(first.session);
    } catch (err) {
      return failed("protect/prune", `listing the filesystems: ${explainRpcError(err, identity)}`);
    }
    await using lanes = jobLanes(config, job, first);
    await runTree(
      args.filesystems.map((name) => ({ name })),
      { concurrency: job.concurrency, lanes },
      ({ name }, session) => step(name, session, sides).catch((err: unknown) => failed(`${name}: protect/prune`, explainRpcError(err, identity))),
      ({ name }, why) => failed(`${name}: protect/prune`, `not run: ${why?.message ?? "no connection left"}`),
    );
  } finally {
    await first.close();
  }
}

/** A side's versions by dataset name, oldest first; `get` throws for one the listing did not show. */
export interface ListedVersions<T> {
  get(name: string): T[];
}

/**
 * The server's tree: what it offers a pull, or (`received`) what a push left below its
 * receive_root. A dataset it did not list is an error (the server no longer offers it), unless
 * `missingOk`, which reads as no versions.
 */
export async function serverVersions(session: JobSession, options: { received?: boolean; missingOk: boolean }): Promise<ListedVersions<VersionEntry>> {
  const tree = await session.remote.listTree({ ...(options.received ? { received: true } : {}), columns: session.info.tree_columns === true });
  const entry = (v: TreeVersionEntry): VersionEntry => ({ name: v.name, kind: v.type, guid: v.guid, createtxg: v.createtxg, creation: v.creation });
  return listed(tree, (node) => node.versions.map(entry), options.missingOk ? null : (name) => `the server does not list ${quote(name)} (any more)`);
}

/**
 * This host's tree below `roots` (every pool for null). A dataset it did not list is an error,
 * unless `missingOk` (a dry run received nothing), which reads as no versions.
 */
export async function localVersions(runner: ZfsRunner, roots: DatasetName | readonly DatasetName[] | null, options: { missingOk: boolean }): Promise<ListedVersions<ZfsVersion>> {
  const tree = await readTree(runner, roots, { missingRootsOk: true, sizes: false });
  return listed(tree, (node: TreeNode) => [...node.versions], options.missingOk ? null : (name) => `${quote(name)} does not exist here`);
}

/** A listing of nothing: every dataset has no versions. */
export const NOTHING_LISTED: ListedVersions<never> = { get: () => [] };

// --- internal ---

function listed<N, T>(tree: ReadonlyMap<string, N>, versions: (node: N) => T[], missing: ((name: string) => string) | null): ListedVersions<T> {
  return {
    get(name) {
      const node = tree.get(name);
      if (node !== undefined) return versions(node);
      if (missing === null) return [];
      throw new Error(missing(name));
    },
  };
}
