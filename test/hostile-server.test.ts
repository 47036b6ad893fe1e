/**
 * A pull against a server that sends whatever it likes, not what it was asked for: a compromised
 * source host, which an honest stdinserver's own checks cannot stand in for. The server here is an
 * in-process `send` endpoint that streams what the test says (bytes that are no stream, or the
 * fake zfs's stream of another snapshot); the client is the real pull step, receiving into the
 * fake OpenZFS. Every refusal must come from the stream's first record, before zfs receive got a
 * byte of it (the fake logs each receive that was fed), and leave the target as it was.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { NO_PROGRESS } from "../src/client/progress.ts";
import { pullStep, type PullStepContext } from "../src/client/pull-step.ts";
import type { Step } from "../src/client/plan.ts";
import { RemoteSession } from "../src/client/remote.ts";
import { logger } from "../src/log.ts";
import { EndpointRegistry, RpcClient, RpcConnection, defineEndpoint, schema, serve, type OctetProducer } from "../src/rpc/index.ts";
import { CONFINED_POLICY, ZfsRunner, parseDatasetName, startSendStream } from "../src/zfs/index.ts";
import { createFakeZfs, type FakeZfs } from "./fake-zfs/fixture.ts";
import { pipeDuplexPair } from "../src/transport/index.ts";
import { patternStream } from "./helpers/test-endpoints.ts";

const log = logger.withTag("test");
let fake: FakeZfs | null = null;
afterEach(() => {
  fake?.[Symbol.dispose]();
  fake = null;
});

/** What the hostile server streams in answer to any send: bytes, or `zfs send ARGV` of the fake. */
type Answer = { readonly garbage: number } | { readonly zfs: readonly string[] };

/** A `send` endpoint that ignores its arguments and streams `answer`. */
function hostileEndpoints(bin: string, answer: Answer): EndpointRegistry {
  return new EndpointRegistry([
    defineEndpoint({
      name: "send",
      args: schema.checked((v) => v),
      body: "none",
      response: "octets",
      async handle(): Promise<OctetProducer> {
        if ("garbage" in answer) return { source: patternStream(3, answer.garbage), abort: () => {}, finish: async () => null };
        return startSendStream(bin, answer.zfs);
      },
    }),
  ]);
}

/** Runs one pull step of `step` into backup/tank/a against a server that answers `answer`. */
async function pullFromHostile(answer: Answer, step: Step) {
  const f = fake!;
  const runner = new ZfsRunner({ bin: f.bin });
  const caps = await runner.capabilities();
  const [c, s] = pipeDuplexPair(["pipe A", "pipe B"]);
  const [clientConn, serverConn] = await Promise.all([RpcConnection.open(c, { software: "zferry/test" }), RpcConnection.open(s, { software: "hostile/1" })]);
  const served = serve(serverConn, hostileEndpoints(f.bin, answer), { log }).finally(() => serverConn.close());
  const remote = new RemoteSession(new RpcClient(clientConn));
  const ctx: PullStepContext = { remote, runner, caps, resumable: true, flags: [], policy: CONFINED_POLICY, allowHint: "receive = { properties = true }", progress: NO_PROGRESS };
  const target = parseDatasetName("backup/tank/a");
  try {
    return await pullStep(ctx, { source: parseDatasetName("tank/a"), target, step, force: false, confined: false, estimate: null }).then(
      (ok) => ({ ok, error: null }),
      (error: Error) => ({ ok: null, error: error.message }),
    );
  } finally {
    await remote.close();
    await served;
  }
}

function world() {
  fake = createFakeZfs({ datasets: ["tank/a@s1", "tank/a@s2", "tank/a@s3", "tank/b@s1", "backup/tank/a@s1"] });
  const guid = (name: string) => {
    const [ds, snap] = name.split("@") as [string, string];
    return BigInt(fake!.state().datasets[ds]!.snapshots[snap]!.guid);
  };
  // The target's s1 has the source's GUID, as a real earlier pull leaves it.
  const state = fake.state();
  state.datasets["backup/tank/a"]!.snapshots.s1!.guid = state.datasets["tank/a"]!.snapshots.s1!.guid;
  fake.setState(state);
  const v = (name: string) => ({ name: name.split("@")[1]!, kind: "snapshot" as const, guid: guid(name), createtxg: 1n });
  return { fake, v, snapshotsOfTarget: () => Object.keys(fake!.state().datasets["backup/tank/a"]!.snapshots) };
}

describe("a pull against a server that sends something else than it was asked for", () => {
  test("the asked-for stream is received, and its first record vouches for its GUID", async () => {
    const { fake, v, snapshotsOfTarget } = world();
    const result = await pullFromHostile({ zfs: ["send", "-i", "tank/a@s1", "tank/a@s2"] }, { kind: "incremental", from: v("tank/a@s1"), to: v("tank/a@s2") });
    expect(result).toMatchObject({ ok: { checked: true }, error: null });
    expect(snapshotsOfTarget()).toEqual(["s1", "s2"]);
    expect(fake.fed()).toEqual(["backup/tank/a@s2"]);
  });

  test.each([
    ["bytes that are not a stream", { garbage: 100_000 }, "Not a zfs send stream: bad magic"],
    ["another snapshot than the one asked for", { zfs: ["send", "-i", "tank/a@s1", "tank/a@s3"] }, "it holds the snapshot with GUID %s3, not %s2 as planned"],
    ["another dataset's snapshot", { zfs: ["send", "tank/b@s1"] }, "its incremental source has GUID 0, not %s1 as planned"],
    ["an incremental from another base", { zfs: ["send", "-i", "tank/a@s2", "tank/a@s3"] }, "its incremental source has GUID %s2, not %s1 as planned"],
  ] as const)("%s: refused from its first record; zfs receive never got a byte, the target is as it was", async (_, answer, why) => {
    const { fake, v, snapshotsOfTarget } = world();
    const result = await pullFromHostile(answer, { kind: "incremental", from: v("tank/a@s1"), to: v("tank/a@s2") });
    const message = why.replace("%s1", String(v("tank/a@s1").guid)).replace("%s2", String(v("tank/a@s2").guid)).replace("%s3", String(v("tank/a@s3").guid));
    expect(result.error).toStartWith(`receive "backup/tank/a@s2": refused the stream: ${message}`);
    expect(fake.fed()).toEqual([]);
    expect(snapshotsOfTarget()).toEqual(["s1"]);
  });

  test("a -I stream (a package) cannot show every GUID in its first record: it is received unchecked, for the job's final listing", async () => {
    const { fake, v, snapshotsOfTarget } = world();
    const step: Step = { kind: "incremental", from: v("tank/a@s1"), to: v("tank/a@s3"), intermediates: [v("tank/a@s2")] };
    const result = await pullFromHostile({ zfs: ["send", "-I", "tank/a@s1", "tank/a@s3"] }, step);
    expect(result).toMatchObject({ ok: { checked: false }, error: null });
    expect(snapshotsOfTarget()).toEqual(["s1", "s2", "s3"]);
    expect(fake.fed()).toEqual(["backup/tank/a"]);
  });
});
