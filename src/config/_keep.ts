/**
 * Reads `keep_sender` / `keep_receiver` (zrepl's words) and a `snapshot = { prefix = "…" }` table.
 * The grid grammar itself lives in retention/grid.ts; this file turns its errors into ConfigErrors.
 */
import { parseGrid, type KeepRule } from "../retention/index.ts";
import { at, fail, optional, readArray, readBoolean, readEnum, readInteger, readString, readTable, required, type At } from "./_read.ts";

const RULE_TYPES = ["last_n", "grid", "regex", "not_replicated"] as const;
const RULE_KEYS: Readonly<Record<(typeof RULE_TYPES)[number], readonly string[]>> = {
  last_n: ["type", "count", "regex"],
  grid: ["type", "grid", "regex"],
  regex: ["type", "regex", "negate"],
  not_replicated: ["type"],
};
/** What zfs allows in a snapshot name, minus "%" (zfs reserves it); a prefix ends before the time. */
const PREFIX = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * A list of keep rules. `side` decides whether `not_replicated` makes sense (only the sender knows
 * what it has not sent yet).
 */
export function readKeepRules(value: unknown, where: At, side: "sender" | "receiver"): KeepRule[] {
  const items = readArray(value, where);
  if (items.length === 0) fail(where, `an empty list keeps nothing and would destroy every snapshot; write at least one rule, e.g. [ { type = "last_n", count = 10 } ], or leave the key out to prune nothing`);
  return items.map((item, i) => readRule(item, at(where, i), side));
}

/** `snapshot = { prefix = "zferry_" }`: the prefix of the snapshots a job takes, or a client may take. */
export function readSnapshotPrefix(value: unknown, where: At): string {
  const table = readTable(value, where, ["prefix"]);
  const prefix = required(table, "prefix", where, readString);
  if (!PREFIX.test(prefix)) fail(at(where, "prefix"), `${JSON.stringify(prefix)} is not a usable snapshot name prefix: use 1 to 64 of A-Z a-z 0-9 _ . : -, e.g. "zferry_"`);
  return prefix;
}

// --- internal ---

function readRule(value: unknown, where: At, side: "sender" | "receiver"): KeepRule {
  const type = required(readTable(value, where), "type", where, (v, w) => readEnum(v, w, RULE_TYPES));
  const table = readTable(value, where, RULE_KEYS[type]);
  switch (type) {
    case "last_n":
      return {
        type,
        count: required(table, "count", where, (v, w) => readInteger(v, w, { min: 1, max: 1_000_000 })),
        regex: optional<RegExp | undefined>(table, "regex", where, readRegex, undefined),
      };
    case "grid": {
      const spec = required(table, "grid", where, readString);
      return { type, grid: readGrid(spec, at(where, "grid")), spec, regex: optional(table, "regex", where, readRegex, /(?:)/) };
    }
    case "regex":
      return { type, regex: required(table, "regex", where, readRegex), negate: optional(table, "negate", where, readBoolean, false) };
    case "not_replicated":
      if (side === "receiver") fail(at(where, "type"), `"not_replicated" only means something on the sending side: move it to keep_sender`);
      return { type };
  }
}

function readGrid(spec: string, where: At): ReturnType<typeof parseGrid> {
  try {
    return parseGrid(spec);
  } catch (cause) {
    return fail(where, (cause as Error).message, { cause });
  }
}

function readRegex(value: unknown, where: At): RegExp {
  const source = readString(value, where);
  try {
    return new RegExp(source);
  } catch (cause) {
    return fail(where, `${JSON.stringify(source)} is not a valid regular expression: ${(cause as Error).message}`, { cause });
  }
}
