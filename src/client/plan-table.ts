/**
 * The plan as a table, the whole output of `--dry-run`:
 *
 *     FILESYSTEM     FROM → TO           SIZE
 *     tank/data      (full) → s2         ~1.2 MiB
 *     tank/data/sub  s1 → s3 (2 snapshots)   ?
 *     tank/old       up to date at s3
 *     tank/x         diverged: the target has snapshots newer than …
 *
 * Before a run the up-to-date rows are counted in one line instead (formatRunPlan).
 */
import { formatBytes } from "./_format.ts";
import { stepSnapshots, type Plan } from "./plan.ts";

export interface PlanRow {
  readonly name: string;
  /** null when planning failed; `error` says why. */
  readonly plan: Plan | null;
  readonly error?: string;
  /** Estimated bytes per step (null: unknown); absent when not estimated. */
  readonly estimates?: readonly (bigint | null)[];
}

export function formatPlanTable(rows: readonly PlanRow[]): string[] {
  const cells = rows.map((row) => [row.name, row.plan ? describeChange(row.plan) : `error: ${row.error ?? "not planned"}`, describeSize(row)] as const);
  const header = ["FILESYSTEM", "FROM → TO", "SIZE"] as const;
  const w0 = Math.max(header[0].length, ...cells.map((c) => c[0].length));
  const w1 = Math.max(header[1].length, ...cells.filter((c) => c[2] !== "").map((c) => c[1].length));
  return [header, ...cells].map(([name, change, size]) => (size === "" ? `${name.padEnd(w0)}  ${change}` : `${name.padEnd(w0)}  ${change.padEnd(w1)}  ${size}`).trimEnd());
}

/**
 * The plan printed before a run: the filesystems it replicates, skips or refuses, then one line for
 * those up to date. An hourly no-op of 10 000 filesystems is then a few lines in the journal, not
 * 10 000 of them; `--dry-run` and `--json` still list each.
 */
export function formatRunPlan(rows: readonly PlanRow[]): string[] {
  const shown = rows.filter((row) => row.plan?.kind !== "up_to_date");
  const upToDate = rows.length - shown.length;
  if (upToDate === 0) return formatPlanTable(rows);
  const counted = `${upToDate} ${shown.length > 0 ? "more " : ""}filesystem${upToDate === 1 ? "" : "s"} up to date (--dry-run lists each)`;
  return shown.length > 0 ? [...formatPlanTable(shown), counted] : [counted];
}

/** `s1 → s3 (2 snapshots)`, `(full) → s2`, `resume → s1`, or the reason nothing is sent. */
export function describeChange(plan: Plan): string {
  switch (plan.kind) {
    case "replicate": {
      const first = plan.steps[0]!;
      const from = first.kind === "full" ? "(full)" : first.kind === "resume" ? "(resume)" : `${first.from.kind === "bookmark" ? "#" : ""}${first.from.name}`;
      const n = plan.steps.reduce((sum, step) => sum + stepSnapshots(step), 0);
      return `${from} → ${plan.steps.at(-1)!.to.name}${n > 1 ? ` (${n} snapshots)` : ""}`;
    }
    case "up_to_date":
      return `up to date at ${plan.at.name}`;
    default:
      return `${plan.kind}: ${plan.reason}`;
  }
}

// --- internal ---

function describeSize(row: PlanRow): string {
  if (row.plan?.kind !== "replicate") return "";
  const estimates = row.estimates;
  if (!estimates || estimates.length === 0 || estimates.some((e) => e === null)) return "?";
  return `~${formatBytes((estimates as bigint[]).reduce((a, b) => a + b, 0n))}`;
}
