/**
 * Reads a `receive = { properties, keep }` table: what a receiving side (a `[clients.NAME]` on the
 * server, a pull job here) accepts from the streams it receives. Absent, it is the confined
 * default: no property stream where zfs cannot keep properties out of the receive, and every
 * confined property confined.
 */
import { KEEPABLE_PROPERTIES, type KeepableProperty, type ReceivePolicy } from "../zfs/index.ts";
import { at, fail, optional, readArray, readBoolean, readString, readTable, type At } from "./_read.ts";

const RECEIVE_KEYS = ["properties", "keep"] as const;

export function readReceivePolicy(value: unknown, where: At): ReceivePolicy {
  const table = readTable(value, where, RECEIVE_KEYS);
  return Object.freeze({
    properties: optional(table, "properties", where, readBoolean, false),
    keep: Object.freeze(optional(table, "keep", where, readKeep, [])),
  });
}

// --- internal ---

function readKeep(value: unknown, where: At): KeepableProperty[] {
  const keep: KeepableProperty[] = [];
  readArray(value, where).forEach((item, i) => {
    const name = readString(item, at(where, i));
    if (name === "readonly") fail(at(where, i), `"readonly" cannot be kept from the stream: zferry keeps received datasets readonly so that the next incremental receive applies`);
    if (!(KEEPABLE_PROPERTIES as readonly string[]).includes(name)) {
      fail(at(where, i), `${JSON.stringify(name)} is not a confined property; expected one of: ${KEEPABLE_PROPERTIES.map((p) => JSON.stringify(p)).join(", ")}`);
    }
    if (keep.includes(name as KeepableProperty)) fail(at(where, i), `duplicate property ${JSON.stringify(name)}`);
    keep.push(name as KeepableProperty);
  });
  return keep;
}
