/**
 * receive_resume_token for a partial receive, with the keys in the kernel's order
 * (dsl_dataset.c get_receive_resume_token_impl: fromguid, object, offset, bytes, toguid, toname,
 * then the ok flags).
 */
import type { FakeDataset, FakePartial } from "./state.ts";
import { encodeToken, type NvPair } from "./token.ts";

/** `object` in the fake's tokens; the fake has no objects, real tokens often carry 0x1 too. */
const RESUME_OBJECT = 1n;

export function resumeTokenOf(ds: FakeDataset): string | null {
  return ds.partial ? encodeToken(tokenPairs(ds.partial)) : null;
}

export function tokenPairs(p: FakePartial): NvPair[] {
  const pairs: NvPair[] = [];
  if (p.fromguid) pairs.push(["fromguid", { type: "uint64", value: BigInt(p.fromguid) }]);
  pairs.push(
    ["object", { type: "uint64", value: RESUME_OBJECT }],
    ["offset", { type: "uint64", value: BigInt(p.offset) }],
    ["bytes", { type: "uint64", value: BigInt(p.bytes) }],
    ["toguid", { type: "uint64", value: BigInt(p.toguid) }],
    ["toname", { type: "string", value: p.toname }],
  );
  if (p.flags.largeBlocks || p.flags.raw) pairs.push(["largeblockok", { type: "boolean" }]);
  if (p.flags.embedded || p.flags.raw) pairs.push(["embedok", { type: "boolean" }]);
  if (p.flags.compressed || p.flags.raw) pairs.push(["compressok", { type: "boolean" }]);
  if (p.flags.raw) pairs.push(["rawok", { type: "boolean" }]);
  return pairs;
}

/** The fields a resumed send needs, read back from decoded pairs. */
export interface TokenFields {
  toname: string;
  toguid: bigint;
  fromguid: bigint;
  offset: bigint;
  bytes: bigint;
  flags: { largeBlocks: boolean; embedded: boolean; compressed: boolean; raw: boolean };
}

/** null when a required key is missing ("resume token is corrupt"). */
export function tokenFields(pairs: readonly NvPair[]): TokenFields | null {
  const get = (k: string) => pairs.find(([name]) => name === k)?.[1];
  const u = (k: string) => {
    const v = get(k);
    return v?.type === "uint64" ? v.value : undefined;
  };
  const toname = get("toname");
  const [object, offset, bytes, toguid] = [u("object"), u("offset"), u("bytes"), u("toguid")];
  if (toname?.type !== "string" || object === undefined || offset === undefined || bytes === undefined || toguid === undefined) {
    return null;
  }
  return {
    toname: toname.value,
    toguid,
    fromguid: u("fromguid") ?? 0n,
    offset,
    bytes,
    flags: { largeBlocks: !!get("largeblockok"), embedded: !!get("embedok"), compressed: !!get("compressok"), raw: !!get("rawok") },
  };
}
