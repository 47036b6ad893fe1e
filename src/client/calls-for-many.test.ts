import { expect, test } from "bun:test";
/**
 * Calls for many datasets at once (`protect_bases`, `prune_datasets`) against a scripted server:
 * one call for all, each dataset's own answer, and one call a dataset where the server predates them.
 */
import { ENDPOINTS, MAX_PROTECT_BASES, type InfoResponse } from "../api/index.ts";
import { RpcError } from "../rpc/index.ts";
import type { DatasetName } from "../zfs/index.ts";
import { protectBasesThere, protectThere, type BaseThere } from "./protect-base.ts";
import { pruneDatasetsThere, pruneThere } from "./prune-there.ts";
import type { JobSession } from "./session.ts";

/** A session whose server answers `answer` to each call; `calls` records them. */
function sessionOf(info: Partial<InfoResponse>, answer: (endpoint: string, args: Record<string, unknown>) => unknown) {
  const calls: [string, Record<string, unknown>][] = [];
  const callValue = async (endpoint: string, args: Record<string, unknown>, parse: (v: unknown, path: string) => unknown) => {
    calls.push([endpoint, args]);
    return parse(answer(endpoint, args), "response");
  };
  const session = { info: info as InfoResponse, remote: { rpc: { callValue } } } as unknown as JobSession;
  return { session, calls };
}

const base = (i: number): BaseThere => ({ dataset: `tank/f${i}` as DatasetName, snapshot: "zferry_20261201T100000Z" });
const asked = (args: Record<string, unknown>) => args.bases as { dataset: string; snapshot: string }[];

test("a server without protect_bases is asked once a dataset, with protect", async () => {
  const { session, calls } = sessionOf({}, (_, args) => ({ held: args.snapshot, released: [] }));
  const there = await protectBasesThere(session, [base(1), base(2)], { received: true });
  expect(there).toBeNull();
  for (const b of [base(1), base(2)]) await protectThere(session, b, { received: true, protectedThere: there });
  expect(calls).toEqual([
    [ENDPOINTS.protect, { dataset: "tank/f1", snapshot: base(1).snapshot, received: true }],
    [ENDPOINTS.protect, { dataset: "tank/f2", snapshot: base(2).snapshot, received: true }],
  ]);
});

test("one protect_bases call answers every base, per MAX_PROTECT_BASES; each failure stays its base's own", async () => {
  const bases = Array.from({ length: MAX_PROTECT_BASES + 1 }, (_, i) => base(i));
  const { session, calls } = sessionOf({ protect_bases: true }, (_, args) => ({
    results: asked(args).map((b) => (b.dataset === "tank/f7" ? { dataset: b.dataset, error: { status: "not_found", message: "no such snapshot" } } : { dataset: b.dataset, held: b.snapshot })),
  }));
  const there = await protectBasesThere(session, bases, { received: false });
  expect(calls.map(([endpoint, args]) => [endpoint, asked(args).length, args.received])).toEqual([
    [ENDPOINTS.protectBases, MAX_PROTECT_BASES, undefined],
    [ENDPOINTS.protectBases, 1, undefined],
  ]);
  await protectThere(session, base(1), { received: false, protectedThere: there });
  const refused = await protectThere(session, base(7), { received: false, protectedThere: there }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(RpcError);
  expect([(refused as RpcError).status, (refused as RpcError).message]).toEqual(["not_found", "no such snapshot"]);
  expect(calls.length).toBe(2); // no protect of its own for any base
});

test.each([
  ["fails", () => {
    throw new RpcError("busy", "the server is busy");
  }, "the server is busy"],
  ["answers for other datasets", () => ({ results: [{ dataset: "tank/other", held: "x" }, { dataset: "tank/f2", held: "x" }] }), "the server's protect_bases answered for other datasets than were asked"],
  ["answers for fewer datasets", () => ({ results: [{ dataset: "tank/f1", held: "x" }] }), "the server's protect_bases answered for other datasets than were asked"],
])("a protect_bases call that %s fails each of its bases with that", async (_, answer, message) => {
  const { session } = sessionOf({ protect_bases: true }, answer);
  const there = await protectBasesThere(session, [base(1), base(2)], { received: false });
  for (const b of [base(1), base(2)]) await expect(protectThere(session, b, { received: false, protectedThere: there })).rejects.toThrow(message);
});

test("prune_datasets answers each dataset's destroyed and kept; without it, prune is called for each", async () => {
  const item = { dataset: "tank/f1" as DatasetName, snapshots: ["zferry_1", "zferry_2"] };
  const many = sessionOf({ prune_datasets: true }, () => ({ results: [{ dataset: "tank/f1", destroyed: ["zferry_1"], kept: [{ name: "zferry_2", reason: "held" }] }] }));
  const pruned = await pruneDatasetsThere(many.session, [item], { received: true });
  expect(await pruneThere(many.session, item, { received: true, prunedThere: pruned })).toEqual({ destroyed: ["zferry_1"], kept: [{ name: "zferry_2", reason: "held" }] });
  expect(many.calls).toEqual([[ENDPOINTS.pruneDatasets, { datasets: [item], received: true }]]);

  const old = sessionOf({}, () => ({ destroyed: ["zferry_1", "zferry_2"], kept: [] }));
  const none = await pruneDatasetsThere(old.session, [item], { received: false });
  expect(none).toBeNull();
  expect(await pruneThere(old.session, item, { received: false, prunedThere: none })).toEqual({ destroyed: ["zferry_1", "zferry_2"], kept: [] });
  expect(old.calls).toEqual([[ENDPOINTS.prune, { dataset: "tank/f1", snapshots: item.snapshots }]]);
});
