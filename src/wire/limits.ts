/**
 * Protocol constants. Changing any of these changes the wire: keep docs/protocol.md in step
 * (a test compares its limits table with this file) and bump PROTOCOL_VERSION when a peer of
 * the previous version would misread the new bytes.
 */

/** Version of the framing and message rules; both peers must speak the same one. */
export const PROTOCOL_VERSION = 1;
/** First bytes of a handshake line: readable, so a shell banner in its place is obvious. */
export const HANDSHAKE_MAGIC = "ZFERRY";
/** Longest handshake line, newline included. */
export const MAX_HANDSHAKE_BYTES = 64;
/** Size of every frame header. */
export const FRAME_HEADER_BYTES = 8;
/** Largest payload of any single frame. */
export const MAX_FRAME_PAYLOAD = 1 << 20;
/** Largest header message (all its HEADER frames together). */
export const MAX_HEADER_BYTES = 64 << 10;
/** Largest CBOR value body (all its VALUE frames together). */
export const MAX_VALUE_BYTES = 16 << 20;
/** Largest TRAILER or RESET payload. */
export const MAX_CONTROL_BYTES = 64 << 10;
/**
 * Payload size a sender puts in each DATA frame but the last (less where the system's pipes are
 * smaller); receivers accept any size up to MAX_FRAME_PAYLOAD. 1 MiB measured fastest for the
 * splice relay (about 1.7× the cat chain, against 1.6× at 512 KiB).
 */
export const DATA_FRAME_BYTES = 1 << 20;
/** Longest error text carried in a response, trailer or reset; longer text is cut (tail kept). */
export const MAX_ERROR_TEXT = 8 << 10;
/**
 * Deepest nesting of arrays and maps in a CBOR item (the item itself is level 0); zferry's
 * messages need 4. Deeper input is refused before it is decoded, so no decoder recurses on it.
 */
export const MAX_CBOR_NESTING = 32;
/** How long a handshake may take before the connection is given up. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** A producer with nothing to send for this long sends a HEARTBEAT frame. */
export const HEARTBEAT_INTERVAL_MS = 5_000;
/** Default for how long a peer may send nothing (heartbeats count) before the connection is dropped. */
export const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60_000;
