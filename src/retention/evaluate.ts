/**
 * Combines the rules of `keep_sender` / `keep_receiver`: a snapshot is kept if any rule keeps it,
 * and destroyed only if none does. No rules keep nothing, so an empty list destroys every
 * candidate; the config reader refuses an empty list for that reason.
 */
import { gridKeeps } from "./grid.ts";
import { lastNKeeps } from "./last-n.ts";
import { notReplicatedKeeps } from "./not-replicated.ts";
import { regexKeeps } from "./regex.ts";
import type { Candidate, KeepRule } from "./types.ts";

/** One verdict, with the reason a dry run prints. */
export interface Verdict {
  readonly name: string;
  readonly keep: boolean;
  /** The rules that keep it (`last_n(10)`, `grid(24x1h)`…), or why it goes. */
  readonly reason: string;
}

/** Verdicts for `candidates`, oldest first. */
export function evaluateKeep(rules: readonly KeepRule[], candidates: readonly Candidate[]): Verdict[] {
  const keptBy = rules.map((rule) => [describeRule(rule), keepsOf(rule, candidates)] as const);
  const ordered = [...candidates].sort((a, b) => a.time - b.time || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return ordered.map((c) => {
    const by = keptBy.filter(([, set]) => set.has(c.name)).map(([label]) => label);
    return by.length > 0 ? { name: c.name, keep: true, reason: `kept by ${by.join(", ")}` } : { name: c.name, keep: false, reason: "no rule keeps it" };
  });
}

/** A short label for a rule, as the dry run and the logs name it. */
export function describeRule(rule: KeepRule): string {
  switch (rule.type) {
    case "last_n":
      return `last_n(${rule.count}${rule.regex ? `, ${rule.regex.source}` : ""})`;
    case "grid":
      return `grid(${rule.spec})`;
    case "regex":
      return `regex(${rule.negate ? "not " : ""}${rule.regex.source})`;
    case "not_replicated":
      return "not_replicated";
  }
}

// --- internal ---

function keepsOf(rule: KeepRule, candidates: readonly Candidate[]): Set<string> {
  switch (rule.type) {
    case "last_n":
      return lastNKeeps(rule.count, rule.regex, candidates);
    case "grid":
      return gridKeeps(rule.grid, candidates.filter((c) => rule.regex.test(c.name)));
    case "regex":
      return regexKeeps(rule.regex, rule.negate, candidates);
    case "not_replicated":
      return notReplicatedKeeps(candidates);
  }
}
