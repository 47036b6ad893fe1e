/**
 * Wire forms the tests build by the letter of docs/protocol.md § Record streams, apart from the
 * code that writes them: a record (its 4-byte big-endian length, then one CBOR item) and a
 * list_tree column entry as a map. The server writes both item by item (rpc/cbor-writer.ts,
 * api/tree-columns.ts); tests compare its bytes with encodeCbor's of these.
 */
import { encodeCbor } from "../../src/rpc/index.ts";
import { joinColumns, type VersionColumns, type VersionRow } from "../../src/zfs/index.ts";

/** One record of `value`. */
export function recordOf(value: unknown): Uint8Array {
  const cbor = encodeCbor(value);
  const out = new Uint8Array(4 + cbor.length);
  new DataView(out.buffer).setUint32(0, cbor.length);
  out.set(cbor, 4);
  return out;
}

/** The column entry of `dataset`'s versions `pieces` (columns or rows, in that order) as a map. */
export function columnsEntryMap(dataset: string, pieces: readonly (VersionColumns | VersionRow)[]): Record<string, unknown> {
  const c = pieces.length === 1 && "bookmark" in pieces[0]! ? pieces[0] : joinColumns(pieces);
  const sized = c.referenced.some((v) => !Number.isNaN(v)) || c.written.some((v) => !Number.isNaN(v));
  const size = (column: Float64Array) => Array.from(column, (v) => (Number.isNaN(v) ? null : v));
  return {
    type: "versions",
    dataset,
    kinds: c.bookmark,
    names: c.names,
    guids: littleEndian(c.guid),
    createtxgs: littleEndian(c.createtxg),
    creations: Array.from(c.creation),
    ...(sized ? { referenced: size(c.referenced), written: size(c.written) } : {}),
  };
}

function littleEndian(values: BigUint64Array): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setBigUint64(i * 8, v, true));
  return out;
}
