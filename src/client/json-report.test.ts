import { expect, test } from "bun:test";
import { jsonFailure, jsonReport } from "./json-report.ts";
import type { PlanVersion } from "./plan.ts";
import type { JobResult } from "./summary.ts";

const v = (name: string, guid: bigint, kind: PlanVersion["kind"] = "snapshot"): PlanVersion => ({ name, kind, guid, createtxg: 1n });

const RESULT: JobResult = {
  action: "pull",
  job: "prod",
  dryRun: false,
  elapsedMs: 4_321.4,
  plan: [
    { name: "tank/a", plan: { kind: "replicate", initial: false, intoPlaceholder: false, steps: [{ kind: "incremental", from: v("b1", 1n, "bookmark"), to: v("s2", 2n) }, { kind: "incremental", from: v("s2", 2n), to: v("s3", 18446744073709551615n) }] }, estimates: [100n, 200n] },
    { name: "tank/b", plan: { kind: "replicate", initial: true, intoPlaceholder: true, steps: [{ kind: "full", to: v("s1", 5n) }] }, estimates: [null] },
    { name: "tank/c", plan: { kind: "up_to_date", at: v("s9", 9n) } },
    { name: "tank/d", plan: { kind: "diverged", reason: "no common snapshot" } },
    { name: "tank/e", plan: null, error: "permission denied" },
  ],
  outcomes: [
    { name: "tank/a", status: "done", snapshots: 2, bytes: 300, wireBytes: 120, elapsedMs: 1_500 },
    { name: "tank/b", status: "failed", snapshots: 0, bytes: 10, elapsedMs: 20, reason: "broke" },
    { name: "tank/c", status: "up_to_date", snapshots: 0, bytes: 0 },
    { name: "tank/d", status: "failed", snapshots: 0, bytes: 0, reason: "diverged: no common snapshot" },
    { name: "tank/e", status: "failed", snapshots: 0, bytes: 0, reason: "permission denied" },
  ],
};

test("jsonReport: one entry per planned filesystem, its plan, estimate and outcome (stream and wire bytes); GUIDs as strings", () => {
  expect(JSON.parse(JSON.stringify(jsonReport(RESULT)))).toEqual({
    version: 1,
    action: "pull",
    job: "prod",
    dry_run: false,
    ok: false,
    elapsed_seconds: 4.321,
    filesystems: [
      {
        name: "tank/a",
        plan: { kind: "replicate", initial: false, steps: [{ kind: "incremental", from: "#b1", to: "s2", to_guid: "2" }, { kind: "incremental", from: "s2", to: "s3", to_guid: "18446744073709551615" }] },
        estimated_bytes: 300,
        status: "done",
        snapshots: 2,
        bytes: 300,
        wire_bytes: 120,
        elapsed_seconds: 1.5,
      },
      { name: "tank/b", plan: { kind: "replicate", initial: true, steps: [{ kind: "full", to: "s1", to_guid: "5" }] }, estimated_bytes: null, status: "failed", snapshots: 0, bytes: 10, wire_bytes: 10, elapsed_seconds: 0.02, reason: "broke" },
      { name: "tank/c", plan: { kind: "up_to_date", at: "s9" }, estimated_bytes: null, status: "up_to_date", snapshots: 0, bytes: 0, wire_bytes: 0 },
      { name: "tank/d", plan: { kind: "diverged", reason: "no common snapshot" }, estimated_bytes: null, status: "failed", snapshots: 0, bytes: 0, wire_bytes: 0, reason: "diverged: no common snapshot" },
      { name: "tank/e", plan: null, estimated_bytes: null, status: "failed", snapshots: 0, bytes: 0, wire_bytes: 0, reason: "permission denied" },
    ],
  });
});

test("jsonReport of a dry run with nothing failed is ok", () => {
  const dry: JobResult = { ...RESULT, dryRun: true, plan: RESULT.plan.slice(0, 1), outcomes: [{ name: "tank/a", status: "planned", snapshots: 0, bytes: 0 }] };
  expect(jsonReport(dry)).toMatchObject({ dry_run: true, ok: true, filesystems: [{ name: "tank/a", status: "planned", estimated_bytes: 300 }] });
});

test("jsonFailure: a job that could not run", () => {
  expect(jsonFailure({ action: "push", job: "up", dryRun: false, error: "Cannot connect", elapsedMs: 12 })).toEqual({
    version: 1,
    action: "push",
    job: "up",
    dry_run: false,
    ok: false,
    error: "Cannot connect",
    elapsed_seconds: 0.012,
    filesystems: [],
  });
});
