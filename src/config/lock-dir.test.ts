import { expect, test } from "bun:test";
import { lockDirOf } from "./lock-dir.ts";
import { parseConfig } from "./schema.ts";

test("lockDirOf: ZFERRY_LOCK_DIR, else [locks] dir, else /run/zferry", () => {
  const configured = parseConfig({ locks: { dir: "/var/lock/zferry" } }, "/etc/z.toml");
  const plain = parseConfig({}, "/etc/z.toml");
  expect([lockDirOf(plain, {}), lockDirOf(configured, {}), lockDirOf(configured, { ZFERRY_LOCK_DIR: "/tmp/l" }), lockDirOf(configured, { ZFERRY_LOCK_DIR: "" })]).toEqual([
    "/run/zferry",
    "/var/lock/zferry",
    "/tmp/l",
    "/var/lock/zferry",
  ]);
});

test("[locks] dir must be an absolute path", () => {
  expect(() => parseConfig({ locks: { dir: "run/zferry" } }, "/etc/z.toml")).toThrow('locks.dir: must be an absolute path, got "run/zferry"');
});
