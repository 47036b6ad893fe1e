import { expect, test } from "bun:test";
import { evaluateKeep } from "./evaluate.ts";
import { parseGrid } from "./grid.ts";
import type { Candidate, KeepRule } from "./types.ts";

const H = 3_600_000;
const T0 = Date.parse("2026-12-01T00:00:00Z");

/** s0 … s(n-1), hourly, the newest `unreplicated` of them not yet on the other side. */
function hourly(n: number, unreplicated = 0): Candidate[] {
  return Array.from({ length: n }, (_, i) => ({ name: `s${i}`, time: T0 + i * H, replicated: i < n - unreplicated }));
}

function keptNames(rules: readonly KeepRule[], candidates: readonly Candidate[]): string[] {
  return evaluateKeep(rules, candidates).filter((v) => v.keep).map((v) => v.name);
}

test.each([
  ["last_n keeps the newest count", [{ type: "last_n", count: 2, regex: undefined }], ["s4", "s5"]],
  ["last_n with a regex counts only matching names", [{ type: "last_n", count: 2, regex: /^s[0-3]$/ }], ["s2", "s3"]],
  ["last_n larger than the list keeps all", [{ type: "last_n", count: 99, regex: undefined }], ["s0", "s1", "s2", "s3", "s4", "s5"]],
  ["regex keeps matching names", [{ type: "regex", regex: /^s[13]$/, negate: false }], ["s1", "s3"]],
  ["regex with negate keeps the others", [{ type: "regex", regex: /^s[13]$/, negate: true }], ["s0", "s2", "s4", "s5"]],
  ["not_replicated keeps what the other side lacks", [{ type: "not_replicated" }], ["s4", "s5"]],
  ["grid ignores names its regex does not match", [{ type: "grid", grid: parseGrid("1x2h(keep=all)"), spec: "1x2h(keep=all)", regex: /^s[0-2]$/ }], ["s0", "s1", "s2"]],
  [
    "a snapshot is kept if any rule keeps it",
    [{ type: "not_replicated" }, { type: "last_n", count: 1, regex: undefined }, { type: "regex", regex: /^s0$/, negate: false }],
    ["s0", "s4", "s5"],
  ],
  ["no rules keep nothing", [], []],
] as [string, KeepRule[], string[]][])("%s", (_label, rules, expected) => {
  expect(keptNames(rules, hourly(6, 2))).toEqual(expected);
});

test("evaluateKeep gives every candidate, oldest first, with the rules that keep it or why it goes", () => {
  const rules: KeepRule[] = [{ type: "not_replicated" }, { type: "last_n", count: 2, regex: undefined }];
  expect(evaluateKeep(rules, hourly(3, 1).reverse())).toEqual([
    { name: "s0", keep: false, reason: "no rule keeps it" },
    { name: "s1", keep: true, reason: "kept by last_n(2)" },
    { name: "s2", keep: true, reason: "kept by not_replicated, last_n(2)" },
  ]);
});
