import { expect, test } from "bun:test";
import { formatSnapshotName, parseSnapshotTime } from "./snapshot-name.ts";

test.each([
  ["2026-12-01T10:30:00Z", "zferry_20261201T103000Z"],
  ["2026-12-31T23:59:59Z", "zferry_20261231T235959Z"],
  ["2027-01-01T00:00:00Z", "zferry_20270101T000000Z"],
  ["2028-02-29T12:00:00Z", "zferry_20280229T120000Z"],
  ["2026-12-01T10:30:00.999Z", "zferry_20261201T103000Z"],
])("formatSnapshotName at %s is %s and reads back", (iso, name) => {
  expect(formatSnapshotName("zferry_", Date.parse(iso))).toBe(name);
  expect(parseSnapshotTime("zferry_", name)).toBe(Math.floor(Date.parse(iso) / 1000) * 1000);
});

test.each([
  ["zferry_20260229T120000Z", "no February 29th in 2026"],
  ["zferry_20261301T000000Z", "month 13"],
  ["zferry_20261201T240000Z", "hour 24"],
  ["zferry_20261201T103000", "no Z"],
  ["zferry_20261201T103000Z1", "trailing text"],
  ["zrepl_20261201_103000_000", "another tool's name"],
  ["other_20261201T103000Z", "another prefix"],
  ["zferry_", "the prefix alone"],
])("parseSnapshotTime refuses %p (%s)", (name) => {
  expect(parseSnapshotTime("zferry_", name)).toBeUndefined();
});

test("names sort as text in time order", () => {
  const times = ["2026-01-09T00:00:00Z", "2026-01-10T00:00:00Z", "2026-10-01T09:00:00Z", "2027-01-01T00:00:00Z"].map(Date.parse);
  const names = times.map((t) => formatSnapshotName("p_", t));
  expect([...names].sort()).toEqual(names);
});

test("formatSnapshotName refuses an invalid time", () => {
  expect(() => formatSnapshotName("zferry_", Number.NaN)).toThrow(RangeError);
});
