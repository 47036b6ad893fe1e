import { describe, expect, test } from "bun:test";
import { parseResumeTokenDump } from "./resume-token.ts";

// `zfs send -nvt` of a token copied from a syncoid log of a real OpenZFS 2.x pool.
const REAL_DUMP = `resume token contents:
nvlist version: 0
\tfromguid = 0x5d134ee0abf167dd
\tobject = 0x1
\toffset = 0x0
\tbytes = 0x0
\ttoguid = 0x2a6cfd6e6229e89f
\ttoname = send/test/l0_1/l1_0/l2_2@syncoid_orion_2025-02-23:16:38:20-GMT-06:00
send from send/test/l0_1/l1_0/l2_2@a to send/test/l0_1/l1_0/l2_2@b estimated size is 64.1K
total estimated size is 64.1K
`;

describe("parseResumeTokenDump", () => {
  test("reads every field of a real dump", () => {
    const info = parseResumeTokenDump(REAL_DUMP);
    expect({ ...info, toname: info.toname.full }).toEqual({
      toname: "send/test/l0_1/l1_0/l2_2@syncoid_orion_2025-02-23:16:38:20-GMT-06:00",
      toguid: 0x2a6cfd6e6229e89fn,
      fromguid: 0x5d134ee0abf167ddn,
      object: 1n,
      offset: 0n,
      bytes: 0n,
      largeblockok: false,
      embedok: false,
      compressok: false,
      rawok: false,
    });
  });

  test("reads the ok flags and a full (non-incremental) token", () => {
    const dump = "resume token contents:\nnvlist version: 0\n\tobject = 0x72a\n\toffset = 0x5f80000\n\tbytes = 0x90c3f2184\n" +
      "\ttoguid = 0xc7442ab399a28a9b\n\ttoname = rpool@weekly\n\tcompressok = 1\n\trawok = 1\n";
    const info = parseResumeTokenDump(dump);
    expect([info.fromguid, info.bytes, info.toguid, info.compressok, info.rawok, info.embedok]).toEqual([
      undefined, 0x90c3f2184n, 0xc7442ab399a28a9bn, true, true, false,
    ]);
  });

  test.each([
    ["no header", "nvlist version: 0\n\ttoname = a@b\n", 'no "resume token contents:" line'],
    ["missing toguid", REAL_DUMP.replace(/\ttoguid.*\n/, ""), 'missing key "toguid"'],
    ["missing toname", REAL_DUMP.replace(/\ttoname.*\n/, ""), 'missing key "toname"'],
    ["missing bytes", REAL_DUMP.replace(/\tbytes.*\n/, ""), 'missing key "bytes"'],
    ["decimal guid", REAL_DUMP.replace("0x2a6cfd6e6229e89f", "3057"), 'toguid "3057" is not a 64-bit hex number'],
    ["65-bit guid", REAL_DUMP.replace("0x2a6cfd6e6229e89f", "0x12a6cfd6e6229e89f"), "is not a 64-bit hex number"],
    ["duplicate key", REAL_DUMP.replace("\tobject = 0x1\n", "\tobject = 0x1\n\tobject = 0x2\n"), 'duplicate key "object"'],
    ["bookmark toname", REAL_DUMP.replace("l2_2@syncoid", "l2_2#syncoid"), "is not a snapshot"],
    ["bad toname", REAL_DUMP.replace("send/test", "send/../test"), 'component ".." is not allowed'],
    ["bad flag", `${REAL_DUMP.split("send from")[0]}\trawok = yes\n`, 'rawok "yes" is not "1"'],
  ])("rejects a dump with %s", (_what, dump, reason) => {
    expect(() => parseResumeTokenDump(dump)).toThrow(SyntaxError);
    expect(() => parseResumeTokenDump(dump)).toThrow(reason);
  });
});
