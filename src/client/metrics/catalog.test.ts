import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { METRIC_FAMILIES } from "./catalog.ts";

test("README § Monitoring lists every metric of the catalog, in order, with its type", () => {
  const readme = readFileSync(join(import.meta.dir, "../../../README.md"), "utf8");
  const rows = [...readme.matchAll(/^\| `(zferry_[a-z_]+)` \| (gauge|counter) \|/gm)].map((m) => [m[1], m[2]]);
  expect(rows).toEqual(METRIC_FAMILIES.map((f) => [f.name, f.type]));
});

test.each(METRIC_FAMILIES.map((f) => [f.name, f.type] as const))("%s (%s) follows the Prometheus naming conventions", (name, type) => {
  expect(name).toMatch(/^zferry_(job|filesystem)_[a-z_]+$/);
  // Counters end in _total; gauges never do; a time is *_timestamp_seconds, a duration *_seconds.
  expect(name.endsWith("_total")).toBe(type === "counter");
  if (name.includes("timestamp")) expect(name).toEndWith("_timestamp_seconds");
});
