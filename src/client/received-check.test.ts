import { expect, test } from "bun:test";
import { createFakeZfs } from "../../test/fake-zfs/fixture.ts";
import { ZfsRunner, parseDatasetName } from "../zfs/index.ts";
import { verifyReceived } from "./received-check.ts";

test("verifyReceived passes the source's GUIDs, names a mismatch or a missing snapshot, in one zfs process that lists those targets alone", async () => {
  using fake = createFakeZfs({ datasets: ["sink/t@s1", "sink/u@s1", "sink/w@s1"] });
  const runner = new ZfsRunner({ bin: fake.bin });
  const t = parseDatasetName("sink/t");
  const u = parseDatasetName("sink/u");
  const guid = (ds: string) => BigInt(fake.state().datasets[ds]!.snapshots.s1!.guid);
  const snap = (name: string, g: bigint) => ({ name, kind: "snapshot" as const, guid: g, createtxg: 1n });
  await runner.capabilities(); // probed once per process, as every job does first
  const before = fake.calls().length;
  const failed = await verifyReceived(runner, [
    { target: t, name: "tank/t", snapshots: [snap("s1", guid("sink/t"))] },
    { target: u, name: "tank/u", snapshots: [snap("s1", guid("sink/u") + 1n)] },
    { target: u, name: "tank/v", snapshots: [snap("s2", guid("sink/u"))] },
  ]);
  expect(fake.calls().slice(before).map((argv) => argv.slice(-2))).toEqual([["sink/t", "sink/u"]]);
  expect([...failed]).toEqual([
    ["tank/u", `receive "sink/u@s1": it has GUID ${guid("sink/u")}, the source's has ${guid("sink/u") + 1n}`],
    ["tank/v", 'receive "sink/u@s2": zfs reported success but the snapshot is not there'],
  ]);
});
