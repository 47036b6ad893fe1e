/**
 * What a session's sends are checked against: the identity's readable tree (versions and
 * encryption of every filesystem it may read), listed once per session, on its first send.
 * A job sends many filesystems over few sessions, so each send costs one `zfs send` and no
 * listing of its own.
 *
 * The listing is newer than the client's plan (which came from an earlier list_tree), so what a
 * client asks for is in it unless it was destroyed since, and then `zfs send` fails on its own.
 * A dataset or snapshot the listing does not have is looked up afresh (sendable-tree users fall
 * back to one `zfs list`), so the cache never refuses what exists. A snapshot replaced since is
 * sent as it is now; the receiving side compares every received GUID with the one it planned.
 * Encryption is fixed when a dataset is created, so the listing's value holds.
 */
import type { DatasetName, ZfsVersion } from "../zfs/index.ts";
import type { ServerContext } from "./context.ts";
import { readableRecords } from "./readable-records.ts";
import { sessionCache } from "./session-cache.ts";

export interface SendableDataset {
  /** Oldest first. */
  readonly versions: readonly ZfsVersion[];
  /** `encryption` as zfs printed it; null where zfs has no native encryption. */
  readonly encryption: string | null;
}

export interface SendableTree {
  get(dataset: DatasetName): SendableDataset | undefined;
}

const cache = sessionCache(load);

/** The session's readable tree, listed on first use. A failed listing is not kept. */
export function sendableTree(ctx: ServerContext): Promise<SendableTree> {
  return cache.get(ctx);
}

async function load(ctx: ServerContext): Promise<SendableTree> {
  const tree = new Map<string, { versions: ZfsVersion[]; encryption: string | null }>();
  for await (const record of readableRecords(ctx, { encryption: true })) {
    if (record.kind === "dataset") {
      if (ctx.acl.mayRead(record.dataset.name)) tree.set(record.dataset.name, { versions: [], encryption: record.dataset.encryption });
    } else tree.get(record.version.name.dataset)?.versions.push(record.version);
  }
  for (const d of tree.values()) d.versions.sort((a, b) => (a.createtxg < b.createtxg ? -1 : a.createtxg > b.createtxg ? 1 : a.name.kind === "bookmark" ? -1 : 1));
  return { get: (ds) => tree.get(ds) };
}
