/**
 * The shapes of a tree listing (tree-listing.ts): its datasets, their versions, the options.
 */
import type { ZfsVersion } from "./list.ts";
import type { DatasetName } from "./names.ts";
import type { VersionColumns, VersionList, VersionRow } from "./packed-versions.ts";
import type { ZfsRunOptions } from "./runner.ts";

/** A filesystem or volume of the tree. */
export interface TreeDataset {
  readonly name: DatasetName;
  readonly type: "filesystem" | "volume";
  /** The dataset's own GUID; a dataset destroyed and made again under the same name has a new one. */
  readonly guid: bigint | null;
  /** OpenZFS 2.2+ `snapshots_changed` (unix seconds); null where zfs has none. */
  readonly snapshotsChanged: number | null;
  /** A partial receive's `receive_resume_token`; null where there is none. */
  readonly resumeToken: string | null;
  /** zferry:placeholder=on set on the dataset itself; false unless `placeholders` was asked. */
  readonly placeholder: boolean;
  /** Its `encryption` ("off", "aes-256-gcm", …) where asked and zfs has it; else null. */
  readonly encryption: string | null;
  /**
   * The `properties` asked for, with their sources. On OpenZFS only those set locally or received
   * are read (beside the listing); the others show source "inherited" (inherited or default).
   */
  readonly properties?: ReadonlyMap<string, { readonly value: string; readonly source: string }>;
}

/** A snapshot or bookmark of the tree, with what estimates a send of it. */
export interface TreeVersion extends ZfsVersion {
  /** Bytes the snapshot refers to (a full stream's size, roughly); null for a bookmark. A number: it only estimates. */
  readonly referenced: number | null;
  /** Bytes written since the previous snapshot (an incremental's size, roughly); null where zfs has none. */
  readonly written: number | null;
}

/**
 * What a listing yields, in the order zfs printed it: a dataset; a version of one with its
 * dataset's name apart (a row, not a TreeVersion: a listing of 300 000 snapshots builds no name
 * objects on the way); or versions of one dataset that zfs printed one after the other, in
 * columns (a wide listing's are nearly all read so: _list-scan.ts).
 */
export type TreeRecord =
  | { readonly kind: "dataset"; readonly dataset: TreeDataset }
  | { readonly kind: "version"; readonly dataset: DatasetName; readonly version: VersionRow }
  | { readonly kind: "versions"; readonly dataset: DatasetName; readonly columns: VersionColumns };

export interface ScanTreeOptions extends ZfsRunOptions {
  /** Read placeholder marks too (a receiving side plans with them). */
  readonly placeholders?: boolean;
  /** Read each dataset's `encryption` too (only zfs with native encryption has it: `send -w`). */
  readonly encryption?: boolean;
  /**
   * Native properties to read with their sources (TreeDataset.properties): on old zfs within its
   * listing, which is a `zfs get` anyway; on OpenZFS in the one `zfs get` that reads placeholder
   * marks, at no extra cost.
   */
  readonly properties?: readonly string[];
  /**
   * A root that does not exist holds nothing: the listing of the others stands (zfs lists every
   * root it can open and exits 1 for those it cannot).
   */
  readonly missingRootsOk?: boolean;
  /** false: filesystems and volumes alone, without snapshots and bookmarks. */
  readonly versions?: boolean;
  /** Each root with its own versions and nothing below it (`-d 1`); needs roots. */
  readonly rootsOnly?: boolean;
  /**
   * false: leave each version's `referenced` and `written` out (null). They estimate what a send
   * carries, so a receiving side has no use for them, and OpenZFS accounts `written` snapshot by
   * snapshot. Listings through `zfs get` (old zfs) read `referenced` all the same.
   */
  readonly sizes?: boolean;
}

/** A dataset of a tree with its versions, oldest first (packed by a listing: packed-versions.ts). */
export interface TreeNode {
  readonly dataset: TreeDataset;
  readonly versions: VersionList<TreeVersion>;
}
