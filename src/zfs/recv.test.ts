import { describe, expect, test } from "bun:test";
import type { ZfsCapabilities } from "./capabilities.ts";
import { ZfsUnsupportedError } from "./errors.ts";
import { parseDatasetName, parseVersionName } from "./names.ts";
import { CONFINED_POLICY, confinementArgs } from "./confine.ts";
import { recvArgv } from "./recv.ts";

const ALL: ZfsCapabilities = {
  listParsable: true, bookmarks: true, sendEstimate: true, resumable: true, raw: true, compressed: true,
  largeBlocks: true, embedded: true, properties: true, recvNoMount: true, recvProperties: true, recvExclude: true, intermediates: true,
};
const ZFS_FUSE: ZfsCapabilities = { ...ALL, resumable: false, recvNoMount: false, recvProperties: false, recvExclude: false };

describe("recvArgv", () => {
  test("plain receive into a filesystem", () => {
    expect(recvArgv({ target: parseDatasetName("sink/a") }, ZFS_FUSE)).toEqual(["receive", "sink/a"]);
  });

  test("resumable, unmounted, forced receive into an exact snapshot name", () => {
    expect(recvArgv({ target: parseVersionName("sink/a b@s 1"), resumable: true, noMount: true, force: true }, ALL)).toEqual([
      "receive", "-s", "-u", "-F", "sink/a b@s 1",
    ]);
  });

  test("-s and -u are unsupported on zfs-fuse, -F is not", () => {
    expect(() => recvArgv({ target: parseDatasetName("sink/a"), resumable: true }, ZFS_FUSE)).toThrow("resumable receive (zfs receive -s)");
    expect(() => recvArgv({ target: parseDatasetName("sink/a"), noMount: true }, ZFS_FUSE)).toThrow(ZfsUnsupportedError);
    expect(recvArgv({ target: parseDatasetName("sink/a"), force: true }, ZFS_FUSE)).toEqual(["receive", "-F", "sink/a"]);
  });

  test("properties become -o name=value before the target, and are unsupported on zfs-fuse", () => {
    const properties = { readonly: "on", "zferry:placeholder": "off" };
    expect(recvArgv({ target: parseVersionName("sink/a@s1"), noMount: true, properties }, ALL)).toEqual([
      "receive", "-u", "-o", "readonly=on", "-o", "zferry:placeholder=off", "sink/a@s1",
    ]);
    expect(() => recvArgv({ target: parseDatasetName("sink/a"), properties }, ZFS_FUSE)).toThrow("setting properties in the receive (zfs receive -o)");
    expect(recvArgv({ target: parseDatasetName("sink/a"), properties: {} }, ZFS_FUSE)).toEqual(["receive", "sink/a"]);
  });

  test("the confinement of a property stream: -u, -x for each inherited property, -o for each forced one", () => {
    const { exclude, properties } = confinementArgs(CONFINED_POLICY, { wasPlaceholder: true });
    expect(recvArgv({ target: parseVersionName("sink/a@s1"), noMount: true, exclude, properties }, ALL)).toEqual([
      "receive", "-u", "-x", "mountpoint", "-x", "sharenfs", "-x", "sharesmb",
      "-o", "setuid=off", "-o", "devices=off", "-o", "exec=off", "-o", "readonly=on", "-o", "zferry:placeholder=off", "sink/a@s1",
    ]);
    expect(() => recvArgv({ target: parseDatasetName("sink/a"), exclude }, ZFS_FUSE)).toThrow("excluding stream properties in the receive (zfs receive -x)");
  });

  test("a policy that keeps mountpoint and exec leaves them out of -x and -o", () => {
    expect(confinementArgs({ properties: false, keep: ["mountpoint", "exec"] }, { wasPlaceholder: false })).toEqual({
      exclude: ["sharenfs", "sharesmb"],
      properties: { setuid: "off", devices: "off", readonly: "on" },
    });
  });

  test("a bookmark target is a TypeError", () => {
    expect(() => recvArgv({ target: parseVersionName("sink/a#b") }, ALL)).toThrow(TypeError);
  });
});
