/**
 * `not_replicated` (sender side): the snapshots the receiver does not have yet, so that a run that
 * could not replicate never prunes what it still has to send.
 */
import type { Candidate } from "./types.ts";

export function notReplicatedKeeps(candidates: readonly Candidate[]): Set<string> {
  return new Set(candidates.filter((c) => !c.replicated).map((c) => c.name));
}
