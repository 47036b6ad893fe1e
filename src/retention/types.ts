/** The values the retention rules work on. Plain data: the rules never read a clock or run zfs. */

/** One snapshot as the rules see it. */
export interface Candidate {
  /** The part after "@". */
  readonly name: string;
  /**
   * When it was taken, in milliseconds since the epoch (UTC). For zferry's own snapshots this is the
   * time in the name; for others the `creation` property.
   */
  readonly time: number;
  /** Does the other side have it (or something newer than it)? Only `not_replicated` asks. */
  readonly replicated: boolean;
}

/** One interval of a grid: `length` milliseconds, keeping the oldest `keep` snapshots in it. */
export interface GridInterval {
  readonly lengthMs: number;
  /** A count, or "all". */
  readonly keep: number | "all";
}

/** One rule of `keep_sender` / `keep_receiver`, as the config reader makes it. */
export type KeepRule =
  | { readonly type: "last_n"; readonly count: number; readonly regex: RegExp | undefined }
  | { readonly type: "grid"; readonly grid: readonly GridInterval[]; readonly spec: string; readonly regex: RegExp }
  | { readonly type: "regex"; readonly regex: RegExp; readonly negate: boolean }
  | { readonly type: "not_replicated" };
