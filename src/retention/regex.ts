/** `regex`: the snapshots whose name matches (or, with `negate`, does not match). */
import type { Candidate } from "./types.ts";

export function regexKeeps(regex: RegExp, negate: boolean, candidates: readonly Candidate[]): Set<string> {
  return new Set(candidates.filter((c) => regex.test(c.name) !== negate).map((c) => c.name));
}
