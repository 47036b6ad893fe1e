import { describe, expect, test } from "bun:test";
import { TailBuffer } from "./_tail-buffer.ts";
import { ZfsError, ZfsUnsupportedError, describeArgv, zfsExitError } from "./errors.ts";

describe("zfsExitError", () => {
  test("puts the operation and subject first and folds stderr onto one line", () => {
    const argv = ["send", "-i", "tank/a@s1", "tank/a@s2"];
    const error = zfsExitError(describeArgv(argv), { argv, exitCode: 1, stderr: "cannot open 'tank/a@s1': dataset does not exist\n" });
    expect(error).toBeInstanceOf(ZfsError);
    expect(error.message).toBe(`send "tank/a@s2": zfs exited 1: cannot open 'tank/a@s1': dataset does not exist`);
    expect(error.isDatasetMissing).toBe(true);
    expect([error.argv, error.exitCode]).toEqual([argv, 1]);
  });

  test("drops the usage text that follows an error line", () => {
    const error = zfsExitError("list", { argv: ["list", "-Q"], exitCode: 2, stderr: "invalid option 'Q'\nusage:\n\tlist [-rH] ...\n" });
    expect(error.message).toBe("list: zfs exited 2: invalid option 'Q'");
    expect(error.isDatasetMissing).toBe(false);
  });

  test("a bare usage text says nothing beyond the exit status", () => {
    expect(zfsExitError("send", { argv: ["send"], exitCode: 2, stderr: "usage:\n\tsend [-RDp] <snapshot>\n" }).message).toBe("send: zfs exited 2");
  });

  test("names a signal for 128+n", () => {
    expect(zfsExitError("send", { argv: ["send"], exitCode: 143, stderr: "" }).message).toBe("send: zfs was killed by signal 15");
  });
});

test("ZfsUnsupportedError says which feature and that this zfs lacks it", () => {
  const error = new ZfsUnsupportedError("raw send (zfs send -w)", "/usr/sbin/zfs");
  expect(error.message).toBe('Cannot use raw send (zfs send -w): the installed zfs ("/usr/sbin/zfs") does not support it');
  expect(error.feature).toBe("raw send (zfs send -w)");
});

describe("TailBuffer", () => {
  test("keeps the last `limit` bytes across chunks and marks the cut", () => {
    const tail = new TailBuffer(8);
    for (const part of ["hello ", "wide ", "world"]) tail.push(new TextEncoder().encode(part));
    expect(tail.text()).toBe("[… 8 bytes cut]de world");
    expect(tail.dropped).toBe(8);
  });

  test("copies chunks, so a reused buffer does not change what was kept", () => {
    const tail = new TailBuffer(16);
    const buf = new TextEncoder().encode("abc");
    tail.push(buf);
    buf.set([120, 120, 120]);
    expect(tail.text()).toBe("abc");
  });

  test("a single chunk larger than the limit keeps its end", () => {
    const tail = new TailBuffer(4);
    tail.push(new TextEncoder().encode("0123456789"));
    expect(tail.text()).toBe("[… 6 bytes cut]6789");
  });
});
