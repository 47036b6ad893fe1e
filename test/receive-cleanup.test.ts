/**
 * A push whose connection dies mid-stream leaves nothing behind on the server: the placeholders
 * created for its target's parents are removed once `zfs recv` has failed on the cut stream.
 * Against a real `zferry stdinserver` child on the fake OpenZFS (where placeholders are created
 * before the stream starts: no first-record gate is needed there).
 */
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { RpcConnection } from "../src/rpc/index.ts";
import { spawnChildDuplex } from "../src/transport/index.ts";
import { FrameType } from "../src/wire/index.ts";
import { createFakeZfs, type FakeZfs } from "./fake-zfs/fixture.ts";

const CLI = join(import.meta.dir, "../src/cli.ts");

let fake: FakeZfs | null = null;
afterEach(() => {
  fake?.[Symbol.dispose]();
  fake = null;
});

function frame(type: number, flags: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  out[0] = type;
  out[1] = flags;
  new DataView(out.buffer).setUint32(4, payload.length);
  out.set(payload, 8);
  return out;
}

test("a receive that dies on a protocol error mid-stream leaves no placeholder behind", async () => {
  fake = createFakeZfs({ datasets: ["tank/src@s1", "backup/sink"] });
  const config = join(fake.dir, "zferry.toml");
  writeFileSync(config, `[zfs]\nbin = ${JSON.stringify(fake.bin)}\n[clients.b1]\nfilesystems = {}\nreceive_root = "backup/sink"\n`);
  const stream = Bun.spawnSync([fake.bin, "send", "tank/src@s1"]).stdout;
  const child = spawnChildDuplex([process.execPath, CLI, "stdinserver", "b1", "--config", config]);
  const conn = await RpcConnection.open(child, { software: "zferry/test" });
  await conn.writeMessage(FrameType.HEADER, { endpoint: "receive", args: { dataset: "tank/src", snapshot: "s1" }, body: "octets", accept: "value" });
  await child.sink.write([frame(FrameType.DATA, 0, stream.subarray(0, 4096))]);
  // Wait until the receive is under way (its placeholder exists), then break the protocol.
  for (let i = 0; i < 500 && !fake.state().datasets["backup/sink/tank"]; i++) await Bun.sleep(10); // no event to wait on
  expect(fake.state().datasets["backup/sink/tank"]).toBeDefined();
  await child.sink.write([frame(0x07, 0x01, new Uint8Array(0))]);
  expect(await child.exited).not.toBe(0);
  await child.close();
  expect(Object.keys(fake.state().datasets).filter((n) => n.startsWith("backup/"))).toEqual(["backup/sink"]);
  expect(fake.calls()).toContainEqual(["destroy", "backup/sink/tank"]);
});
