/**
 * The fake zfs itself: that it speaks OpenZFS's formats (usage, -nP lines, resume tokens) and
 * its own stream format exactly, so tests built on it test against what a real zfs prints.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { inflateSync } from "node:zlib";
import { createFakeZfs } from "./fake-zfs/fixture.ts";
import { BEGIN_BYTES, END, MAGIC, PATTERN_BYTES, encodeHeader, payloadPattern, recordSize, type RecordHeader } from "./fake-zfs/stream.ts";
import { decodeToken, encodeToken, packNvlist, printNvlist } from "./fake-zfs/token.ts";

// A receive_resume_token copied from a syncoid log of a real OpenZFS 2.x pool.
const REAL_TOKEN =
  "1-1379a801cc-118-789c636064000310a501c49c50360710a715e5e7a69766a63040c1ddf48fab1ff809c72a00d9ec48eaf293b252934b207c10c0904f4b2b4e2d618003903c1b927c5265496a3103aa3cb2fe927c882be6bfd04ccafb9ba3958024cf0996cf4bcc4d6560284ecd4bd1071a55a29f63106fa89f63186fa09f63146fe4505c99979c9f99129f5f94999f176f646064aa6b60a46b646c656866656c616564a0ebee1ba26b606665600073030078d32d6a";

const fake = createFakeZfs({ datasets: ["tank/a@s1", "tank/a@s2"], env: { FAKE_ZFS_NOW: "1700000000" } });
afterAll(() => fake[Symbol.dispose]());

async function zfs(...argv: string[]) {
  const p = Bun.spawn([fake.bin, ...argv], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([p.stdout.bytes(), p.stderr.text(), p.exited]);
  return { stdout: Buffer.from(stdout), stderr, code };
}

describe("resume tokens", () => {
  test("a real token decodes, and re-packs to the identical nvlist bytes", () => {
    const pairs = decodeToken(REAL_TOKEN);
    expect(printNvlist(pairs)).toBe(
      "nvlist version: 0\n\tfromguid = 0x5d134ee0abf167dd\n\tobject = 0x1\n\toffset = 0x0\n\tbytes = 0x0\n\ttoguid = 0x2a6cfd6e6229e89f\n" +
        "\ttoname = send/test/l0_1/l1_0/l2_2@syncoid_orion_2025-02-23:16:38:20-GMT-06:00\n",
    );
    const original = inflateSync(Buffer.from(REAL_TOKEN.split("-")[3]!, "hex"));
    expect(packNvlist(pairs).equals(original)).toBe(true);
  });

  test("an encoded token round-trips and has the real shape", () => {
    const pairs = decodeToken(REAL_TOKEN);
    const token = encodeToken(pairs);
    expect(token).toMatch(/^1-[0-9a-f]+-118-789c[0-9a-f]+$/);
    expect(decodeToken(token)).toEqual(pairs);
  });

  test("send -nvt prints a real token's contents and exits 255 when the snapshot is not here", async () => {
    const r = await zfs("send", "-nvt", REAL_TOKEN);
    expect(r.code).toBe(255);
    expect(r.stdout.toString()).toBe(`resume token contents:\n${printNvlist(decodeToken(REAL_TOKEN))}`);
    expect(r.stderr).toBe("cannot resume send: 'send/test/l0_1/l1_0/l2_2@syncoid_orion_2025-02-23:16:38:20-GMT-06:00' used in the initial send no longer exists\n");
  });
});

describe("command line", () => {
  test("no arguments: 'missing command', the full usage on stderr, exit 2", async () => {
    const r = await zfs();
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith("missing command\nusage: zfs command args ...\nwhere 'command' is one of the following:\n\n\tversion\n\n");
    expect(r.stderr).toContain("\tbookmark <snapshot|bookmark> <newbookmark>\n");
    expect(r.stderr).toEndWith("For further help on a command or topic, run: zfs help [<topic>]\n");
  });

  test("send -nP prints the full line and the size line on stdout", async () => {
    const state = fake.state().datasets["tank/a"]!.snapshots.s1!;
    const size = recordSize({ toname: "tank/a@s1", toguid: state.guid, creation: state.creation, payload: state.payload!, offset: 0, flags: {} });
    const r = await zfs("send", "-nP", "tank/a@s1");
    expect([r.code, r.stdout.toString(), r.stderr]).toEqual([0, `full\ttank/a@s1\t${size}\nsize\t${size}\n`, ""]);
  });

  test("send of a missing incremental source: 'cannot open', exit 1", async () => {
    const r = await zfs("send", "-i", "@nope", "tank/a@s2");
    expect([r.code, r.stderr]).toEqual([1, "cannot open 'tank/a@nope': dataset does not exist\n"]);
  });

  test("every invocation is logged as one JSON argv line", async () => {
    await zfs("list", "-H", "-o", "name", "tank/a b");
    expect(fake.calls().at(-1)).toEqual(["list", "-H", "-o", "name", "tank/a b"]);
  });

  test("list without -p prints creation as a date, with -p as seconds", async () => {
    const plain = await zfs("list", "-H", "-o", "creation", "tank/a@s1");
    const exact = await zfs("list", "-Hp", "-o", "creation", "tank/a@s1");
    expect(plain.stdout.toString()).toMatch(/^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d 20\d\d\n$/);
    expect(exact.stdout.toString()).toBe(`${fake.state().datasets["tank/a"]!.snapshots.s1!.creation}\n`);
  });
});

describe("stream format", () => {
  test("a full send is magic, header, the pattern payload and the end marker", async () => {
    const r = await zfs("send", "tank/a@s1");
    const snap = fake.state().datasets["tank/a"]!.snapshots.s1!;
    const header: RecordHeader = { toname: "tank/a@s1", toguid: snap.guid, creation: snap.creation, payload: snap.payload!, offset: 0, flags: {} };
    const head = encodeHeader(header);
    expect(r.code).toBe(0);
    expect(r.stdout.subarray(BEGIN_BYTES, BEGIN_BYTES + MAGIC.length).equals(MAGIC)).toBe(true);
    expect(JSON.parse(r.stdout.subarray(BEGIN_BYTES + 12, head.length).toString())).toEqual(header);
    expect(r.stdout.length).toBe(recordSize(header));
    const payload = r.stdout.subarray(head.length, r.stdout.length - END.length);
    expect(payload.equals(payloadPattern().subarray(0, snap.payload! % PATTERN_BYTES))).toBe(true);
    expect(r.stdout.subarray(r.stdout.length - END.length).equals(END)).toBe(true);
  });

  test("receive of a stream without its end marker fails as incomplete", async () => {
    const sent = await zfs("send", "tank/a@s1");
    const p = Bun.spawn([fake.bin, "receive", "tank/cut"], { stdin: sent.stdout.subarray(0, sent.stdout.length - 1), stderr: "pipe" });
    expect([await p.exited, await p.stderr.text()]).toEqual([1, "cannot receive new filesystem stream: checksum mismatch or incomplete stream\n"]);
  });
});
