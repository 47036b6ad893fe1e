import { describe, expect, test } from "bun:test";
import { newestSnapshot, planReplication, planTarget, upToDateAtNewest, type Plan, type PlanOptions, type PlanTarget, type PlanVersion } from "./plan.ts";

/**
 * Fixture DSL: "s1:11" is snapshot s1 with GUID 11, "#b1:11" a bookmark; createtxg follows the
 * position in the list unless given as "s1:11@5".
 */
function versions(...specs: string[]): PlanVersion[] {
  return specs.map((spec, i) => {
    const m = /^(#?)([^:]+):(\d+)(?:@(\d+))?$/.exec(spec);
    if (!m) throw new Error(`bad fixture ${spec}`);
    return { name: m[2]!, kind: m[1] ? "bookmark" : "snapshot", guid: BigInt(m[3]!), createtxg: BigInt(m[4] ?? (i + 1) * 10) };
  });
}

const MISSING: PlanTarget = { exists: false, placeholder: false, versions: [] };
const MOST_RECENT: PlanOptions = { initial: "most_recent", canResume: false };
const ALL: PlanOptions = { initial: "all", canResume: false };

/** A plan as a short string, so a table row reads at a glance. */
function show(plan: Plan): string {
  switch (plan.kind) {
    case "replicate":
      return plan.steps
        .map((s) => (s.kind === "full" ? `full ${s.to.name}` : s.kind === "incremental" ? `${s.from.kind === "bookmark" ? "#" : ""}${s.from.name}→${s.to.name}` : `resume ${s.to.name}`))
        .join(", ");
    case "up_to_date":
      return `up to date at ${plan.at.name}`;
    default:
      return `${plan.kind}: ${plan.reason}`;
  }
}

describe("planReplication", () => {
  test.each<[string, PlanVersion[], PlanTarget, PlanOptions, string]>([
    ["initial most_recent sends the newest snapshot in full", versions("s1:1", "s2:2", "s3:3"), MISSING, MOST_RECENT, "full s3"],
    ["initial all sends the oldest in full, then one -i per snapshot", versions("s1:1", "s2:2", "s3:3"), MISSING, ALL, "full s1, s1→s2, s2→s3"],
    ["initial ignores bookmarks", versions("s1:1", "#b2:2", "s3:3"), MISSING, ALL, "full s1, s1→s3"],
    ["an empty placeholder gets an initial replication", versions("s1:1"), { exists: true, placeholder: true, versions: [] }, MOST_RECENT, "full s1"],
    ["up to date when the newest snapshots match", versions("s1:1", "s2:2"), { exists: true, placeholder: false, versions: versions("s1:1", "s2:2") }, MOST_RECENT, "up to date at s2"],
    ["incremental from the newest common snapshot, one step per snapshot", versions("s1:1", "s2:2", "s3:3", "s4:4"), { exists: true, placeholder: false, versions: versions("s2:2") }, MOST_RECENT, "s2→s3, s3→s4"],
    ["initial policy does not matter once the target has snapshots", versions("s1:1", "s2:2", "s3:3"), { exists: true, placeholder: false, versions: versions("s1:1") }, ALL, "s1→s2, s2→s3"],
    ["snapshots are matched by GUID, not name (renamed on the source)", versions("renamed:1", "s2:2"), { exists: true, placeholder: false, versions: versions("s1:1") }, MOST_RECENT, "renamed→s2"],
    ["a bookmark is the base when the source snapshot is gone (OpenZFS)", versions("#b1:1@10", "s2:2@20", "s3:3@30"), { exists: true, placeholder: false, versions: versions("s1:1@10") }, MOST_RECENT, "#b1→s2, s2→s3"],
    ["a snapshot is preferred over its bookmark", versions("#b1:1@10", "s1:1@10", "s2:2@20"), { exists: true, placeholder: false, versions: versions("s1:1@10") }, MOST_RECENT, "s1→s2"],
    ["up to date at a bookmark base reports the target's snapshot", versions("s0:5@5", "#b1:1@10"), { exists: true, placeholder: false, versions: versions("s1:1@10") }, MOST_RECENT, "up to date at s1"],
    ["the source may have pruned older snapshots", versions("s3:3@30", "s4:4@40"), { exists: true, placeholder: false, versions: versions("s1:1@10", "s3:3@30") }, MOST_RECENT, "s3→s4"],
    ["input order does not matter", versions("s3:3@30", "s1:1@10", "s2:2@20"), { exists: true, placeholder: false, versions: versions("s1:1@10") }, MOST_RECENT, "s1→s2, s2→s3"],
    ["target bookmarks are not a base", versions("s1:1", "s2:2"), { exists: true, placeholder: false, versions: versions("s1:1", "#b2:2") }, MOST_RECENT, "s1→s2"],
  ])("%s", (_name, source, target, options, expected) => {
    expect(show(planReplication(source, target, options))).toBe(expected);
  });

  test.each<[string, PlanVersion[], PlanTarget, string]>([
    [
      "target has a snapshot newer than the common one",
      versions("s1:1", "s2:2"),
      { exists: true, placeholder: false, versions: versions("s1:1", "local:99") },
      'diverged: the target has snapshots newer than the newest common one "s1": "local"',
    ],
    [
      "the source rolled back and made a new snapshot with the same name",
      versions("s1:1", "s2:22"),
      { exists: true, placeholder: false, versions: versions("s1:1", "s2:2") },
      'diverged: the target has snapshots newer than the newest common one "s1": "s2"',
    ],
    [
      "no snapshot in common",
      versions("s1:1", "s2:2"),
      { exists: true, placeholder: false, versions: versions("x1:7", "x2:8") },
      'diverged: no common snapshot: none of the target\'s snapshots ("x1", "x2") is on the source',
    ],
    [
      "a dataset that is not a placeholder is never overwritten",
      versions("s1:1"),
      { exists: true, placeholder: false, versions: [] },
      "conflict: the target exists without snapshots and is not a zferry placeholder; zferry does not overwrite it",
    ],
    ["a source without snapshots is skipped", versions("#b1:1"), MISSING, "skip: the source has no snapshots yet"],
  ])("refuses: %s", (_name, source, target, expected) => {
    expect(show(planReplication(source, target, MOST_RECENT))).toBe(expected);
  });

  test("a diverged target lists at most five of its newer snapshots", () => {
    const target = versions("s1:1", ...Array.from({ length: 7 }, (_, i) => `t${i}:${100 + i}`));
    const plan = planReplication(versions("s1:1", "s2:2"), { exists: true, placeholder: false, versions: target }, MOST_RECENT);
    expect(plan).toEqual({ kind: "diverged", reason: 'the target has snapshots newer than the newest common one "s1": "t0", "t1", "t2", "t3", "t4" and 2 more' });
  });

  test("steps carry the versions with their GUIDs, and planTarget names the last one", () => {
    const plan = planReplication(versions("s1:1", "s2:2"), MISSING, ALL);
    expect(plan).toEqual({
      kind: "replicate",
      initial: true,
      intoPlaceholder: false,
      steps: [
        { kind: "full", to: { name: "s1", kind: "snapshot", guid: 1n, createtxg: 10n } },
        { kind: "incremental", from: { name: "s1", kind: "snapshot", guid: 1n, createtxg: 10n }, to: { name: "s2", kind: "snapshot", guid: 2n, createtxg: 20n } },
      ],
    });
    expect(planTarget(plan)?.name).toBe("s2");
    expect(planTarget({ kind: "skip", reason: "x" })).toBeNull();
  });

  test("GUIDs above 2^53 compare exactly", () => {
    const big = 18446744073709551615n;
    const source = [{ name: "s1", kind: "snapshot", guid: big, createtxg: 1n }, { name: "s2", kind: "snapshot", guid: big - 1n, createtxg: 2n }] as const;
    const plan = planReplication(source, { exists: true, placeholder: false, versions: [source[0]] }, MOST_RECENT);
    expect(show(plan)).toBe("s1→s2");
  });
});

describe("planReplication with a partial receive on the target", () => {
  const RESUMABLE: PlanOptions = { initial: "most_recent", canResume: true };

  test("a partial full receive is resumed, then later snapshots follow", () => {
    const target: PlanTarget = { exists: true, placeholder: false, versions: [], resume: { token: "1-ab-cd-ef", toguid: 1n } };
    const plan = planReplication(versions("s1:1", "s2:2", "s3:3"), target, RESUMABLE);
    expect(show(plan)).toBe("resume s1, s1→s2, s2→s3");
    expect(plan).toMatchObject({ initial: true, intoPlaceholder: false, steps: [{ kind: "resume", token: "1-ab-cd-ef" }, {}, {}] });
  });

  test("a partial incremental receive names its source", () => {
    const target: PlanTarget = { exists: true, placeholder: false, versions: versions("s1:1"), resume: { token: "1-ab-cd-ef", toguid: 2n, fromguid: 1n } };
    const plan = planReplication(versions("s1:1", "s2:2"), target, RESUMABLE);
    expect(plan).toMatchObject({ kind: "replicate", initial: false, steps: [{ kind: "resume", from: { name: "s1" }, to: { name: "s2" } }] });
  });

  test.each<[string, PlanTarget, PlanOptions, string]>([
    [
      "the sender cannot resume",
      { exists: true, placeholder: false, versions: [], resume: { token: "t", toguid: 1n } },
      MOST_RECENT,
      'conflict: the target holds a partial receive, but the sender cannot resume it; discard it with "zfs receive -A TARGET" to start that step over',
    ],
    [
      "the snapshot being received is gone from the source",
      { exists: true, placeholder: false, versions: [], resume: { token: "t", toguid: 77n } },
      RESUMABLE,
      'conflict: the target holds a partial receive of a snapshot the source no longer has (GUID 77); discard it with "zfs receive -A TARGET" to start that step over',
    ],
    [
      "its incremental source is gone",
      { exists: true, placeholder: false, versions: versions("s0:5"), resume: { token: "t", toguid: 2n, fromguid: 5n } },
      RESUMABLE,
      'conflict: the partial receive\'s incremental source (GUID 5) is gone from the source; discard it with "zfs receive -A TARGET" to start that step over',
    ],
  ])("refuses to resume when %s", (_name, target, options, expected) => {
    expect(show(planReplication(versions("s1:1", "s2:2"), target, options))).toBe(expected);
  });
});

describe("upToDateAtNewest", () => {
  const sorted = (vs: PlanVersion[]) => [...vs].sort((a, b) => (a.createtxg !== b.createtxg ? (a.createtxg < b.createtxg ? -1 : 1) : a.kind === b.kind ? 0 : a.kind === "bookmark" ? -1 : 1));
  const at = (vs: PlanVersion[]) => ({ length: vs.length, at: (i: number) => vs.at(i) });
  const shortcut = (source: PlanVersion[], target: PlanTarget) => upToDateAtNewest(newestSnapshot(at(sorted(source)), (v) => v), newestSnapshot(at(sorted([...target.versions])), (v) => v), target);
  const own = (...specs: string[]): PlanTarget => ({ exists: true, placeholder: false, versions: versions(...specs) });

  test.each<[string, PlanVersion[], PlanTarget, string | null]>([
    ["the newest snapshots match", versions("s1:1", "s2:2"), own("s1:1", "s2:2"), "up to date at s2"],
    ["the target holds only the newest", versions("s1:1", "s2:2"), own("s2:2"), "up to date at s2"],
    ["the newest are snapshots behind a newer bookmark", versions("s1:1", "s2:2", "#b3:9"), own("s2:2", "#b4:8"), "up to date at s2"],
    ["the source moved on", versions("s1:1", "s2:2", "s3:3"), own("s2:2"), null],
    ["the target holds a snapshot of its own", versions("s1:1", "s2:2"), own("s2:2", "local:99"), null],
    ["the target has no snapshots", versions("s1:1"), { exists: true, placeholder: true, versions: [] }, null],
    ["the source has no snapshots", versions("#b1:1"), own("s1:1"), null],
    ["the target holds a partial receive", versions("s1:1", "s2:2"), { ...own("s1:1", "s2:2"), resume: { token: "t", toguid: 3n } }, null],
    ["two snapshots of one txg, the newest by order", versions("a:1@10", "b:2@10"), own("a:1@10", "b:2@10"), "up to date at b"],
  ])("%s", (_name, source, target, expected) => {
    const plan = shortcut(source, target);
    expect(plan === null ? null : show(plan)).toBe(expected);
    // Where it answers, it answers as the planner does, to the version.
    if (plan) expect(plan).toEqual(planReplication(sorted(source), { ...target, versions: sorted([...target.versions]) }, MOST_RECENT));
  });
});
