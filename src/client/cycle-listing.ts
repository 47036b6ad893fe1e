/**
 * What a backup cycle protects and prunes from: each side's versions of the filesystems that
 * replicated, each side listed once (the server's `list_tree`, one tree listing here) instead of
 * twice a filesystem. The server still checks every hold and destroy against its own zfs.
 */
import type { VersionEntry } from "../api/index.ts";
import { quote, readTree, type DatasetName, type TreeNode, type ZfsRunner, type ZfsVersion } from "../zfs/index.ts";
import type { JobSession } from "./session.ts";

/** A side's versions by dataset name, oldest first; `get` throws for one the listing did not show. */
export interface ListedVersions<T> {
  get(name: string): T[];
}

/**
 * The server's tree: what it offers a pull, or (`received`) what a push left below its receive_root.
 * A dataset it did not list is an error: the server no longer offers it.
 */
export async function serverVersions(session: JobSession, options: { received?: boolean } = {}): Promise<ListedVersions<VersionEntry>> {
  const tree = await session.remote.listTree({ ...options, columns: session.info.tree_columns === true });
  return listed(tree, (node) => node.versions.map((v) => ({ name: v.name, kind: v.type, guid: v.guid, createtxg: v.createtxg, creation: v.creation })), (name) => `the server does not list ${quote(name)} (any more)`);
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

/** The same listing, where a dataset it did not show has no versions. */
export function orNone<T>(listed: ListedVersions<T>): ListedVersions<T> {
  return {
    get(name) {
      try {
        return listed.get(name);
      } catch {
        return [];
      }
    },
  };
}

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
