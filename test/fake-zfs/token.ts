/**
 * Real OpenZFS resume tokens: `1-<fletcher4 word 0, hex>-<packed nvlist length, hex>-<hex of the
 * zlib-compressed nvlist>`, the nvlist packed in NV_ENCODE_NATIVE little-endian, as the kernel's
 * get_receive_resume_token() builds them. Checked against a token from a real pool (see the test),
 * so a real `zfs send -nvt` could decode the fake's tokens and the fake can decode real ones.
 */
import { deflateSync, inflateSync } from "node:zlib";

export type NvValue = { type: "uint64"; value: bigint } | { type: "string"; value: string } | { type: "boolean" };
export type NvPair = readonly [name: string, value: NvValue];

const DATA_TYPE_BOOLEAN = 1;
const DATA_TYPE_UINT64 = 8;
const DATA_TYPE_STRING = 9;
const NVPAIR_HEADER = 16; // int32 size, int16 name_sz, int16 reserve, int32 nelem, int32 type

export class TokenError extends Error {}

export function encodeToken(pairs: readonly NvPair[]): string {
  const packed = packNvlist(pairs);
  const compressed = deflateSync(packed, { level: 6 });
  return `1-${fletcher4Word0(compressed).toString(16)}-${packed.length.toString(16)}-${compressed.toString("hex")}`;
}

/** Decodes a token, failing with libzfs's own messages. */
export function decodeToken(token: string): NvPair[] {
  const m = /^(\d+)-([0-9a-fA-F]+)-([0-9a-fA-F]+)-(.*)$/s.exec(token);
  if (!m) throw new TokenError("resume token is corrupt (invalid format)");
  if (m[1] !== "1") throw new TokenError(`resume token is corrupt (invalid version ${Number(m[1])})`);
  const hex = m[4]!;
  if (!/^(?:[0-9a-fA-F]{2})*[0-9a-fA-F]?$/.test(hex)) throw new TokenError("resume token is corrupt (payload is not hex-encoded)");
  const compressed = Buffer.from(hex.slice(0, hex.length - (hex.length % 2)), "hex");
  if (fletcher4Word0(compressed) !== BigInt(`0x${m[2]}`)) throw new TokenError("resume token is corrupt (incorrect checksum)");
  let packed: Buffer;
  try {
    packed = inflateSync(compressed);
  } catch {
    throw new TokenError("resume token is corrupt (decompression failed)");
  }
  if (packed.length !== Number.parseInt(m[3]!, 16)) throw new TokenError("resume token is corrupt (decompression failed)");
  try {
    return unpackNvlist(packed);
  } catch {
    throw new TokenError("resume token is corrupt (nvlist_unpack failed)");
  }
}

/** nvlist_print() output: `nvlist version: 0` then `\t<name> = <value>` lines. */
export function printNvlist(pairs: readonly NvPair[]): string {
  let text = "nvlist version: 0\n";
  for (const [name, v] of pairs) {
    const value = v.type === "uint64" ? `0x${v.value.toString(16)}` : v.type === "string" ? v.value : "1";
    text += `\t${name} = ${value}\n`;
  }
  return text;
}

export function packNvlist(pairs: readonly NvPair[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0, 1, 0, 0]), u32(0), u32(1)]; // native, little-endian; version 0; NV_UNIQUE_NAME
  for (const [name, v] of pairs) {
    const nameBytes = Buffer.from(`${name}\0`);
    const value = v.type === "uint64" ? u64(v.value) : v.type === "string" ? Buffer.from(`${v.value}\0`) : Buffer.alloc(0);
    const head = align8(NVPAIR_HEADER + nameBytes.length);
    const size = head + align8(value.length);
    const pair = Buffer.alloc(size);
    pair.writeInt32LE(size, 0);
    pair.writeInt16LE(nameBytes.length, 4);
    pair.writeInt32LE(v.type === "boolean" ? 0 : 1, 8);
    pair.writeInt32LE(v.type === "uint64" ? DATA_TYPE_UINT64 : v.type === "string" ? DATA_TYPE_STRING : DATA_TYPE_BOOLEAN, 12);
    nameBytes.copy(pair, NVPAIR_HEADER);
    value.copy(pair, head);
    parts.push(pair);
  }
  parts.push(u32(0));
  return Buffer.concat(parts);
}

export function unpackNvlist(buf: Buffer): NvPair[] {
  if (buf[0] !== 0 || buf[1] !== 1) throw new Error("not a native little-endian nvlist");
  const pairs: NvPair[] = [];
  let off = 12;
  for (;;) {
    const size = buf.readInt32LE(off);
    if (size === 0) return pairs;
    const nameSize = buf.readInt16LE(off + 4);
    const type = buf.readInt32LE(off + 12);
    const name = buf.toString("utf8", off + NVPAIR_HEADER, off + NVPAIR_HEADER + nameSize - 1);
    const valueAt = off + align8(NVPAIR_HEADER + nameSize);
    if (type === DATA_TYPE_UINT64) pairs.push([name, { type: "uint64", value: buf.readBigUInt64LE(valueAt) }]);
    else if (type === DATA_TYPE_STRING) pairs.push([name, { type: "string", value: buf.toString("utf8", valueAt, buf.indexOf(0, valueAt)) }]);
    else if (type === DATA_TYPE_BOOLEAN) pairs.push([name, { type: "boolean" }]);
    else throw new Error(`unsupported nvpair type ${type}`);
    off += size;
  }
}

/** Word 0 of fletcher_4_native_varsize: the sum of the whole little-endian 32-bit words. */
export function fletcher4Word0(bytes: Uint8Array): bigint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let sum = 0n;
  for (let i = 0; i + 4 <= bytes.byteLength; i += 4) sum += BigInt(view.getUint32(i, true));
  return sum & 0xffff_ffff_ffff_ffffn;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}
