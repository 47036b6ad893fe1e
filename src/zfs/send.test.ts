import { describe, expect, test } from "bun:test";
import type { ZfsCapabilities } from "./capabilities.ts";
import { ZfsUnsupportedError } from "./errors.ts";
import { parseVersionName } from "./names.ts";
import { parseSendEstimate, resumeSendArgv, sendArgv } from "./send.ts";

const ALL: ZfsCapabilities = {
  listParsable: true, bookmarks: true, sendEstimate: true, resumable: true, raw: true, compressed: true,
  largeBlocks: true, embedded: true, properties: true, recvNoMount: true, recvProperties: true, recvExclude: true, intermediates: true,
};
const ZFS_FUSE: ZfsCapabilities = { ...ALL, listParsable: false, bookmarks: false, sendEstimate: false, resumable: false, raw: false, compressed: false, largeBlocks: false, embedded: false, recvNoMount: false, recvProperties: false };
const v = parseVersionName;
const TOKEN = "1-f0aa34c6b-e0-789c6360";

describe("sendArgv", () => {
  test("full send", () => {
    expect(sendArgv({ to: v("tank/a@s1") }, ZFS_FUSE)).toEqual(["send", "tank/a@s1"]);
  });

  test("incremental from a snapshot and from a bookmark", () => {
    expect(sendArgv({ to: v("tank/a@s2"), from: v("tank/a@s1") }, ALL)).toEqual(["send", "-i", "tank/a@s1", "tank/a@s2"]);
    expect(sendArgv({ to: v("tank/a@s2"), from: v("tank/a#b1") }, ALL)).toEqual(["send", "-i", "tank/a#b1", "tank/a@s2"]);
  });

  test("all flags, in a fixed order, before the incremental source", () => {
    const flags = { properties: true, embedded: true, largeBlocks: true, compressed: true, raw: true };
    expect(sendArgv({ to: v("tank/a@s2"), from: v("tank/a@s1"), intermediates: true, flags }, ALL)).toEqual([
      "send", "-w", "-c", "-L", "-e", "-p", "-I", "tank/a@s1", "tank/a@s2",
    ]);
  });

  test("a name with spaces stays one argv element", () => {
    expect(sendArgv({ to: v("tank/my data@my snap") }, ALL)).toEqual(["send", "tank/my data@my snap"]);
  });

  test.each([
    [{ raw: true }, "raw send (zfs send -w)"],
    [{ compressed: true }, "compressed send (zfs send -c)"],
    [{ largeBlocks: true }, "large-block send (zfs send -L)"],
    [{ embedded: true }, "embedded-data send (zfs send -e)"],
  ])("flags %j on zfs-fuse throw ZfsUnsupportedError naming %j", (flags, feature) => {
    expect(() => sendArgv({ to: v("tank/a@s1"), flags }, ZFS_FUSE)).toThrow(ZfsUnsupportedError);
    expect(() => sendArgv({ to: v("tank/a@s1"), flags }, ZFS_FUSE)).toThrow(`Cannot use ${feature}: the installed zfs`);
  });

  test("a bookmark source on zfs-fuse is unsupported", () => {
    expect(() => sendArgv({ to: v("tank/a@s2"), from: v("tank/a#b") }, ZFS_FUSE)).toThrow("a bookmark as incremental source");
  });

  test.each([
    [{ to: v("tank/a#b") }, "only a snapshot can be sent"],
    [{ to: v("tank/a@s2"), from: v("tank/b@s1") }, 'incremental source "tank/b@s1" is on another dataset'],
    [{ to: v("tank/a@s2"), from: v("tank/a#b"), intermediates: true }, "-I cannot start at bookmark"],
    [{ to: v("tank/a@s2"), intermediates: true }, "-I needs an incremental source"],
  ])("rejects an impossible request with TypeError (%#)", (request, reason) => {
    expect(() => sendArgv(request, ALL)).toThrow(TypeError);
    expect(() => sendArgv(request, ALL)).toThrow(reason);
  });
});

describe("resumeSendArgv", () => {
  test("passes the token after -t", () => {
    expect(resumeSendArgv(TOKEN, ALL)).toEqual(["send", "-t", TOKEN]);
  });

  test.each([["-R"], ["1-abc-12-zz"], [""], ["1-abc-12-00 tank/a@s"], ["1-ABC-12-00"]])("rejects %j as SyntaxError", (token) => {
    expect(() => resumeSendArgv(token, ALL)).toThrow(SyntaxError);
  });

  test("is unsupported on zfs-fuse", () => {
    expect(() => resumeSendArgv(TOKEN, ZFS_FUSE)).toThrow(ZfsUnsupportedError);
  });
});

describe("parseSendEstimate", () => {
  test("reads the size line of a full send", () => {
    expect(parseSendEstimate("full\ttank/a@s1\t65728\nsize\t65728\n")).toBe(65728n);
  });

  test("reads the size line after a resume token dump", () => {
    const out = "resume token contents:\nnvlist version: 0\n\ttoname = tank/a@s3\nincremental\ttank/a@s 2\ttank/a@s3\t35995\nsize\t35995\n";
    expect(parseSendEstimate(out)).toBe(35995n);
  });

  test("sums the -I lines when there is no size line", () => {
    expect(parseSendEstimate("incremental\ts1\ttank/a@s2\t100\nincremental\ts2\ttank/a@s3\t23\n")).toBe(123n);
  });

  test("is null for output without numbers", () => {
    expect(parseSendEstimate("full send of tank/a@s1 estimated size is 64.1K\n")).toBeNull();
  });

  test("keeps sizes above 2^53 exact", () => {
    expect(parseSendEstimate("size\t9007199254740993\n")).toBe(9007199254740993n);
  });
});
