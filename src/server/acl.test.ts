import { describe, expect, test } from "bun:test";
import { parse } from "smol-toml";
import { parseConfig } from "../config/index.ts";
import { NameError, parseDatasetName, type DatasetName } from "../zfs/index.ts";
import { Acl, aclForIdentity, UnknownIdentityError } from "./acl.ts";

const FILE = "/etc/zferry/zferry.toml";
const CONFIG = parseConfig(
  parse(`
[clients.backup1]
filesystems = { "tank/data<" = true, "tank/data/scratch<" = false, "tank/home" = true }
receive_root = "tank/sink/backup1"
send_flags = ["raw", "compressed"]

[clients.reader]
filesystems = { "<" = true }
`),
  FILE,
);

const ds = (name: string): DatasetName => parseDatasetName(name);

describe("aclForIdentity", () => {
  test("returns the Acl of a configured identity", () => {
    const acl = aclForIdentity(CONFIG, "backup1");
    expect(acl).toBeInstanceOf(Acl);
    expect([acl.identity, acl.receiveRoot, [...acl.allowedSendFlags]]).toEqual(["backup1", "tank/sink/backup1", ["raw", "compressed"]]);
  });

  test.each(["x", "constructor", "__proto__", "toString", ""])("throws UnknownIdentityError for %j", (identity) => {
    expect(() => aclForIdentity(CONFIG, identity)).toThrow(UnknownIdentityError);
    expect(() => aclForIdentity(CONFIG, identity)).toThrow(`Unknown client identity ${JSON.stringify(identity)}: not in [clients] of ${FILE}`);
  });
});

describe("Acl.mayRead", () => {
  const acl = aclForIdentity(CONFIG, "backup1");
  test.each([
    ["tank/data", true],
    ["tank/data/a", true],
    ["tank/data2", false],
    ["tank/data/scratch", false],
    ["tank/data/scratch/x", false],
    ["tank/home", true],
    ["tank/home/alice", false],
    ["tank", false],
    ["tank/sink/backup1", false],
  ])("%s → %p", (name, expected) => {
    expect(acl.mayRead(ds(name))).toBe(expected);
  });

  test("mayReadBelow sees allowed datasets under a denied parent", () => {
    expect([acl.mayReadBelow(ds("tank")), acl.mayReadBelow(ds("tank/data/scratch")), acl.mayReadBelow(ds("zroot"))]).toEqual([true, false, false]);
  });
});

describe("Acl.mayReceiveInto", () => {
  const acl = aclForIdentity(CONFIG, "backup1");
  test.each([
    ["tank/sink/backup1/tank", true, "a pool-level child"],
    ["tank/sink/backup1/tank/data/x", true, "deep below"],
    ["tank/sink/backup1", false, "the root itself is the admin's container"],
    ["tank/sink/backup10", false, "a sibling with the same prefix"],
    ["tank/sink/backup10/x", false, "below that sibling"],
    ["tank/sink", false, "above the root"],
    ["tank/data", false, "elsewhere"],
  ])("%s → %p (%s)", (name, expected) => {
    expect(acl.mayReceiveInto(ds(name))).toBe(expected);
  });

  test("a client without receive_root may receive nowhere", () => {
    const reader = aclForIdentity(CONFIG, "reader");
    expect([reader.receiveRoot, reader.mayReceiveInto(ds("tank/x")), reader.receiveTargetFor(ds("tank/x"))]).toEqual([undefined, false, null]);
  });
});

describe("Acl.receiveTargetFor", () => {
  const acl = aclForIdentity(CONFIG, "backup1");
  test("puts the client's path below receive_root, where mayReceiveInto allows it", () => {
    const target = acl.receiveTargetFor(ds("tank/data/x"));
    expect(target).toBe(ds("tank/sink/backup1/tank/data/x"));
    expect(acl.mayReceiveInto(target as DatasetName)).toBe(true);
  });

  test("a combined name over the ZFS limit is a NameError", () => {
    expect(() => acl.receiveTargetFor(ds(`p/${"a".repeat(240)}`))).toThrow(NameError);
  });
});

describe("Acl.checkSendFlags", () => {
  const acl = aclForIdentity(CONFIG, "backup1");
  test.each([
    [[], null],
    [["raw"], null],
    [["compressed", "raw"], null],
    [["raw", "properties", "embedded"], "properties"],
    [["large_blocks"], "large_blocks"],
  ] as const)("%j → %p", (requested, expected) => {
    expect(acl.checkSendFlags(requested)).toBe(expected);
  });

  test("a client without send_flags may request none", () => {
    expect(aclForIdentity(CONFIG, "reader").checkSendFlags(["raw"])).toBe("raw");
  });

  test("the Acl is frozen", () => {
    expect(Object.isFrozen(acl)).toBe(true);
  });
});
