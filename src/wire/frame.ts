/**
 * The frame header: 8 bytes, big-endian.
 *
 *   0      1      2      3      4      5      6      7
 *   +------+------+------+------+------+------+------+------+
 *   | type | flags|  reserved=0 |      payload length       |
 *   +------+------+------+------+------+------+------+------+
 *
 * One function writes it and one reads it; the reader checks every field against the limits before
 * anything is allocated for the payload.
 */
import { ProtocolError } from "./errors.ts";
import { FRAME_HEADER_BYTES, MAX_CONTROL_BYTES, MAX_FRAME_PAYLOAD } from "./limits.ts";

export const FrameType = {
  /** CBOR message header (request or response); a message of one or more frames. */
  HEADER: 0x01,
  /** CBOR body value; a message of one or more frames. */
  VALUE: 0x02,
  /** Octet-stream body bytes; the stream ends with a TRAILER. */
  DATA: 0x03,
  /** CBOR outcome of an octet stream; always one frame with END. */
  TRAILER: 0x04,
  /** CBOR reason: cancels the body being received, or announces a close; one frame with END. */
  RESET: 0x05,
  /** Empty keep-alive; may stand between any two frames and carries nothing. */
  HEARTBEAT: 0x06,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Flag bit: last frame of its message. The other seven bits are reserved and must be zero. */
export const FLAG_END = 0x01;

export interface FrameHeader {
  readonly type: FrameType;
  readonly end: boolean;
  readonly length: number;
}

const NAMES = new Map<number, string>(Object.entries(FrameType).map(([k, v]) => [v, k]));

/** Name of a frame type for messages, e.g. "DATA" or "0x7f". */
export function frameTypeName(type: number): string {
  return NAMES.get(type) ?? `0x${type.toString(16).padStart(2, "0")}`;
}

/**
 * Writes a frame header into `buf` at `offset`; returns the offset after it.
 * @throws RangeError when the length is over MAX_FRAME_PAYLOAD or the frame breaks a type rule
 */
export function encodeFrameHeader(buf: Uint8Array, offset: number, type: FrameType, end: boolean, length: number): number {
  checkFrameRules(type, end, length, RangeError);
  const view = new DataView(buf.buffer, buf.byteOffset + offset, FRAME_HEADER_BYTES);
  view.setUint8(0, type);
  view.setUint8(1, end ? FLAG_END : 0);
  view.setUint16(2, 0);
  view.setUint32(4, length);
  return offset + FRAME_HEADER_BYTES;
}

/**
 * Reads a frame header from `buf` at `offset` (which must hold FRAME_HEADER_BYTES).
 * @throws ProtocolError for an unknown type, reserved bits set, or a length over its limit
 */
export function decodeFrameHeader(buf: Uint8Array, offset = 0): FrameHeader {
  const view = new DataView(buf.buffer, buf.byteOffset + offset, FRAME_HEADER_BYTES);
  const type = view.getUint8(0);
  const flags = view.getUint8(1);
  const reserved = view.getUint16(2);
  const length = view.getUint32(4);
  if (!NAMES.has(type)) throw new ProtocolError(`Unknown frame type ${frameTypeName(type)}`);
  if (flags & ~FLAG_END) throw new ProtocolError(`Frame ${frameTypeName(type)} has reserved flag bits set: 0x${flags.toString(16)}`);
  if (reserved !== 0) throw new ProtocolError(`Frame ${frameTypeName(type)} has non-zero reserved bytes`);
  const end = (flags & FLAG_END) !== 0;
  checkFrameRules(type as FrameType, end, length, ProtocolError);
  return { type: type as FrameType, end, length };
}

/** Encodes a frame header into a fresh 8-byte array (for control frames; the data path reuses its buffer). */
export function frameHeader(type: FrameType, end: boolean, length: number): Uint8Array {
  const buf = new Uint8Array(FRAME_HEADER_BYTES);
  encodeFrameHeader(buf, 0, type, end, length);
  return buf;
}

// --- internal ---

function checkFrameRules(type: FrameType, end: boolean, length: number, Err: new (m: string) => Error): void {
  const name = frameTypeName(type);
  if (!Number.isInteger(length) || length < 0 || length > MAX_FRAME_PAYLOAD) {
    throw new Err(`Frame ${name} payload length ${length} exceeds MAX_FRAME_PAYLOAD (${MAX_FRAME_PAYLOAD})`);
  }
  switch (type) {
    case FrameType.DATA:
      if (end) throw new Err("Frame DATA must not carry END: an octet stream ends with a TRAILER");
      break;
    case FrameType.TRAILER:
    case FrameType.RESET:
      if (!end) throw new Err(`Frame ${name} must carry END: it is a one-frame message`);
      if (length > MAX_CONTROL_BYTES) throw new Err(`Frame ${name} payload length ${length} exceeds MAX_CONTROL_BYTES (${MAX_CONTROL_BYTES})`);
      break;
    case FrameType.HEARTBEAT:
      if (!end || length !== 0) throw new Err("Frame HEARTBEAT must be empty and carry END");
      break;
  }
}
