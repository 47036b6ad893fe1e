import { expect, test } from "bun:test";
import { parseGrid } from "../retention/index.ts";
import { decidePrune, type SideSnapshot } from "./prune.ts";

const T0 = Date.parse("2026-12-01T00:00:00Z") / 1000;

/** zferry_…T00…T05, hourly, createtxg 1…6, plus a snapshot of another tool. */
const SNAPS: SideSnapshot[] = [
  ...Array.from({ length: 6 }, (_, i) => ({ name: `zferry_20261201T0${i}0000Z`, createtxg: BigInt(i + 1), creation: T0 + 99_999 })),
  { name: "autosnap_x", createtxg: 7n, creation: T0 },
];

test("decidePrune keeps the base and held snapshots whatever the rules say, and ignores other prefixes", () => {
  const decisions = decidePrune([{ type: "last_n", count: 1, regex: undefined }], SNAPS, {
    prefix: "zferry_",
    base: "zferry_20261201T030000Z",
    replicatedUpTo: 4n,
    held: new Set(["zferry_20261201T000000Z"]),
  });
  expect(decisions).toEqual([
    { name: "zferry_20261201T000000Z", destroy: false, reason: "held" },
    { name: "zferry_20261201T010000Z", destroy: true, reason: "no rule keeps it" },
    { name: "zferry_20261201T020000Z", destroy: true, reason: "no rule keeps it" },
    { name: "zferry_20261201T030000Z", destroy: false, reason: "incremental base" },
    { name: "zferry_20261201T040000Z", destroy: true, reason: "no rule keeps it" },
    { name: "zferry_20261201T050000Z", destroy: false, reason: "kept by last_n(1)" },
  ]);
});

test("not_replicated keeps what is newer than the base; the grid reads the time from the name, not creation", () => {
  const decisions = decidePrune([{ type: "not_replicated" }, { type: "grid", grid: parseGrid("1x2h"), spec: "1x2h", regex: /(?:)/ }], SNAPS, {
    prefix: "zferry_",
    base: "zferry_20261201T020000Z",
    replicatedUpTo: 3n,
  });
  expect(decisions.filter((d) => d.destroy).map((d) => d.name)).toEqual(["zferry_20261201T000000Z", "zferry_20261201T010000Z"]);
  expect(decisions.find((d) => d.name === "zferry_20261201T030000Z")).toEqual({ name: "zferry_20261201T030000Z", destroy: false, reason: "kept by not_replicated, grid(1x2h)" });
});

test("with no base and nothing replicated, not_replicated keeps everything", () => {
  expect(decidePrune([{ type: "not_replicated" }], SNAPS, { prefix: "zferry_", base: null, replicatedUpTo: null }).every((d) => !d.destroy)).toBe(true);
});
