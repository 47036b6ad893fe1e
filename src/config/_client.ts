/** Reads one `[clients.NAME]` table. */
import { CONFINED_POLICY, type DatasetName } from "../zfs/index.ts";
import { at, fail, optional, readArray, readBoolean, readEnum, readTable, required, type At } from "./_read.ts";
import { readDatasetName, readFilter } from "./_datasets.ts";
import { readReceivePolicy } from "./_receive.ts";
import { parseRateBytes } from "./rate.ts";
import { readSnapshotPrefix } from "./_keep.ts";
import type { ClientConfig } from "./types.ts";
import { SEND_FLAG_NAMES, type SendFlagName } from "./send-flags.ts";

export function readClient(identity: string, value: unknown, where: At): ClientConfig {
  const table = readTable(value, where, ["filesystems", "receive_root", "receive", "send_flags", "send_decrypted", "bandwidth_limit", "snapshot", "prune"]);
  const snapshotPrefix = optional<string | undefined>(table, "snapshot", where, readSnapshotPrefix, undefined);
  const prune = optional(table, "prune", where, readBoolean, false);
  if (prune && snapshotPrefix === undefined) {
    fail(at(where, "prune"), `prune = true needs snapshot = { prefix = "…" } beside it: only snapshots with that prefix may be destroyed`);
  }
  return {
    identity,
    filesystems: required(table, "filesystems", where, readFilter),
    receiveRoot: optional<DatasetName | undefined>(table, "receive_root", where, readDatasetName, undefined),
    receive: optional(table, "receive", where, readReceivePolicy, CONFINED_POLICY),
    sendFlags: optional(table, "send_flags", where, readSendFlagList, []),
    sendDecrypted: optional(table, "send_decrypted", where, readBoolean, false),
    bandwidthLimit: optional<number | undefined>(table, "bandwidth_limit", where, readRate, undefined),
    snapshotPrefix,
    prune,
  };
}

// --- internal ---

function readRate(value: unknown, where: At): number {
  try {
    return parseRateBytes(value);
  } catch (cause) {
    return fail(where, (cause as Error).message, { cause });
  }
}

function readSendFlagList(value: unknown, where: At): SendFlagName[] {
  const flags: SendFlagName[] = [];
  readArray(value, where).forEach((item, i) => {
    const flag = readEnum(item, at(where, i), SEND_FLAG_NAMES);
    if (flags.includes(flag)) fail(at(where, i), `duplicate send flag ${JSON.stringify(flag)}`);
    flags.push(flag);
  });
  return flags;
}
