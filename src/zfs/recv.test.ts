import { describe, expect, test } from "bun:test";
import type { ZfsCapabilities } from "./capabilities.ts";
import { ZfsUnsupportedError } from "./errors.ts";
import { parseDatasetName, parseVersionName } from "./names.ts";
import { recvArgv } from "./recv.ts";

const ALL: ZfsCapabilities = {
  listParsable: true, bookmarks: true, sendEstimate: true, resumable: true, raw: true, compressed: true,
  largeBlocks: true, embedded: true, properties: true, recvNoMount: true, recvProperties: true, intermediates: true,
};
const ZFS_FUSE: ZfsCapabilities = { ...ALL, resumable: false, recvNoMount: false, recvProperties: false };

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

  test("a bookmark target is a TypeError", () => {
    expect(() => recvArgv({ target: parseVersionName("sink/a#b") }, ALL)).toThrow(TypeError);
  });
});
