import { describe, expect, test } from "bun:test";
import { parseDatasetName } from "../zfs/index.ts";
import type { PlanVersion } from "./plan.ts";
import { sendArgsFor } from "./pull-step.ts";

const ds = parseDatasetName("tank/my data");
const v = (name: string, guid: bigint, kind: "snapshot" | "bookmark" = "snapshot"): PlanVersion => ({ name, kind, guid, createtxg: guid });

describe("sendArgsFor", () => {
  test.each([
    ["a full send names the snapshot and its GUID", { kind: "full", to: v("s1", 18446744073709551615n) } as const, [], { dataset: "tank/my data", to: "s1", to_guid: 18446744073709551615n }],
    [
      "an incremental send names its source by short name, kind and GUID",
      { kind: "incremental", from: v("s1", 1n), to: v("s2", 2n) } as const,
      ["compressed"] as const,
      { dataset: "tank/my data", to: "s2", to_guid: 2n, flags: ["compressed"], from: { name: "s1", kind: "snapshot" }, from_guid: 1n },
    ],
    [
      "a bookmark as the incremental source",
      { kind: "incremental", from: v("b1", 1n, "bookmark"), to: v("s2", 2n) } as const,
      [],
      { dataset: "tank/my data", to: "s2", to_guid: 2n, from: { name: "b1", kind: "bookmark" }, from_guid: 1n },
    ],
  ])("%s", (_name, step, flags, expected) => {
    expect(sendArgsFor(ds, step, flags)).toEqual(expected as never);
  });

  test("a snapshot name from the peer is checked before it reaches a request", () => {
    expect(() => sendArgsFor(ds, { kind: "full", to: v("s1@x", 1n) }, [])).toThrow('Invalid snapshot name "s1@x": "@" is not allowed here');
  });
});
