/** `last_n`: the newest `count` snapshots (of those matching `regex`, when given). */
import type { Candidate } from "./types.ts";

export function lastNKeeps(count: number, regex: RegExp | undefined, candidates: readonly Candidate[]): Set<string> {
  const matching = candidates.filter((c) => regex === undefined || regex.test(c.name));
  // Newest first; equal times (zfs-fuse's creation has one-second steps) fall back to the name.
  matching.sort((a, b) => b.time - a.time || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
  return new Set(matching.slice(0, count).map((c) => c.name));
}
