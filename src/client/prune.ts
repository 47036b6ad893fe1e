/**
 * Which snapshots one side of a filesystem loses under its keep rules: the candidates are the
 * snapshots with the job's prefix; the retention rules decide, except that the incremental base
 * and, where the caller knows them, held snapshots are always kept. The server re-checks whatever it is asked to
 * destroy (endpoints/prune.ts), so this is the policy, not the guard.
 */
import { evaluateKeep, parseSnapshotTime, type Candidate, type KeepRule } from "../retention/index.ts";

/** One snapshot as both sides list it. */
export interface SideSnapshot {
  readonly name: string;
  readonly createtxg: bigint;
  /** Unix seconds. */
  readonly creation: number;
}

/** A snapshot to destroy or keep, with the reason a dry run prints. */
export interface PruneDecision {
  readonly name: string;
  readonly destroy: boolean;
  readonly reason: string;
}

/**
 * Decisions for the snapshots with `prefix`, oldest first. `base` (the newest common snapshot) is
 * always kept; `held` names are kept; `replicatedUpTo` (the base's createtxg) tells
 * `not_replicated` what the receiver already has.
 */
export function decidePrune(rules: readonly KeepRule[], snapshots: readonly SideSnapshot[], args: { prefix: string; base: string | null; replicatedUpTo: bigint | null; held?: ReadonlySet<string> }): PruneDecision[] {
  const { prefix, base, replicatedUpTo, held = new Set<string>() } = args;
  const mine = snapshots.filter((s) => s.name.startsWith(prefix));
  // The rules see every candidate (so last_n counts the base, as in zrepl); the base and held
  // snapshots are then kept whatever the rules say.
  // Time from the name for zferry's own snapshots (the schedule's time), else the creation property.
  const candidates: Candidate[] = mine.map((s) => ({ name: s.name, time: parseSnapshotTime(prefix, s.name) ?? s.creation * 1000, replicated: replicatedUpTo !== null && s.createtxg <= replicatedUpTo }));
  const verdicts = evaluateKeep(rules, candidates).map((v): PruneDecision => {
    if (v.name === base) return { name: v.name, destroy: false, reason: "incremental base" };
    if (held.has(v.name)) return { name: v.name, destroy: false, reason: "held" };
    return { name: v.name, destroy: !v.keep, reason: v.reason };
  });
  const order = new Map(mine.map((s, i) => [s.name, i]));
  return verdicts.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
}

/** The names `decisions` destroy, in their order. */
export function doomedOf(decisions: readonly PruneDecision[]): string[] {
  return decisions.filter((d) => d.destroy).map((d) => d.name);
}
