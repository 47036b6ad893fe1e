import { describe, expect, test } from "bun:test";
import type { ZfsCapabilities } from "./capabilities.ts";
import { ZfsUnsupportedError } from "./errors.ts";
import { parseDatasetName, parseVersionName } from "./names.ts";
import { recvArgv } from "./recv.ts";

const ALL: ZfsCapabilities = {
  listParsable: true, bookmarks: true, sendEstimate: true, resumable: true, raw: true, compressed: true,
  largeBlocks: true, embedded: true, properties: true, recvNoMount: true, intermediates: true,
};
const ZFS_FUSE: ZfsCapabilities = { ...ALL, resumable: false, recvNoMount: false };

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

  test("a bookmark target is a TypeError", () => {
    expect(() => recvArgv({ target: parseVersionName("sink/a#b") }, ALL)).toThrow(TypeError);
  });
});
