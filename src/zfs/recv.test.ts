import { describe, expect, test } from "bun:test";
import type { ZfsCapabilities } from "./capabilities.ts";
import { ZfsUnsupportedError } from "./errors.ts";
import { parseDatasetName, parseVersionName } from "./names.ts";
import { CONFINED_POLICY, confinedReceive, confinementArgs, needsExclude } from "./confine.ts";
import type { StreamHeader } from "./stream-header.ts";
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

describe("a confined receive without -x where the stream cannot carry properties", () => {
  const header = (kind: StreamHeader["kind"], fromguid: bigint) => ({ kind, fromguid, toguid: 7n }) as StreamHeader;

  test.each([
    ["a full substream into a new dataset", header("substream", 0n), true, false],
    ["a package (zfs send -p, -R): properties", header("compound", 0n), true, true],
    ["an incremental or clone substream", header("substream", 5n), true, true],
    ["into an existing dataset or a placeholder: values of its own", header("substream", 0n), false, true],
    ["a first record that could not be read", null, true, true],
  ] as const)("%s", (_what, head, createsDataset, expected) => {
    expect(needsExclude(head, { createsDataset })).toBe(expected);
  });

  test("confinedReceive: lean has the -o values alone, whole adds -x; forHeader picks", () => {
    const request = { target: parseVersionName("sink/a@s1"), resumable: true, noMount: true };
    const r = confinedReceive(request, { policy: CONFINED_POLICY, wasPlaceholder: false, createsDataset: true }, ALL);
    const o = ["-o", "setuid=off", "-o", "devices=off", "-o", "exec=off", "-o", "readonly=on"];
    expect(r.lean).toEqual(["receive", "-s", "-u", ...o, "sink/a@s1"]);
    expect(r.whole).toEqual(["receive", "-s", "-u", "-x", "mountpoint", "-x", "sharenfs", "-x", "sharesmb", ...o, "sink/a@s1"]);
    expect(r.forHeader(header("substream", 0n))).toBe(r.lean);
    expect(r.forHeader(header("compound", 0n))).toBe(r.whole);
    const existing = confinedReceive(request, { policy: CONFINED_POLICY, wasPlaceholder: false, createsDataset: false }, ALL);
    expect(existing.lean).toBe(existing.whole);
  });
});
