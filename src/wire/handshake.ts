/**
 * The handshake: before any frame, each side sends one ASCII line and reads the other's.
 *
 *     ZFERRY <protocol version> <software version>\n      e.g. "ZFERRY 1 zferry/0.1.0\n"
 *
 * Both sides write first and then read, so neither waits on the other. Plain text makes a shell
 * banner, an error page or a wrong program recognisable in the error message.
 */
import { ProtocolError } from "./errors.ts";
import { HANDSHAKE_MAGIC, MAX_HANDSHAKE_BYTES, PROTOCOL_VERSION } from "./limits.ts";

export interface Hello {
  readonly protocol: number;
  readonly software: string;
}

const SOFTWARE_RE = /^[\x21-\x7e]{1,40}$/;

/** The handshake line this side sends. */
export function encodeHello(software: string): Uint8Array {
  if (!SOFTWARE_RE.test(software)) throw new RangeError(`Invalid software version ${JSON.stringify(software)}`);
  return new TextEncoder().encode(`${HANDSHAKE_MAGIC} ${PROTOCOL_VERSION} ${software}\n`);
}

/**
 * Looks for a complete handshake line at the start of `bytes`.
 * @returns the hello and the number of bytes it used, or null when more bytes are needed
 * @throws ProtocolError when the bytes cannot become a valid line, quoting what arrived
 */
export function decodeHello(bytes: Uint8Array): { hello: Hello; used: number } | null {
  const magic = `${HANDSHAKE_MAGIC} `;
  const prefixLen = Math.min(bytes.length, magic.length);
  for (let i = 0; i < prefixLen; i++) {
    if (bytes[i] !== magic.charCodeAt(i)) throw notZferry(bytes);
  }
  const nl = bytes.subarray(0, MAX_HANDSHAKE_BYTES).indexOf(0x0a);
  if (nl < 0) {
    if (bytes.length >= MAX_HANDSHAKE_BYTES) throw new ProtocolError(`Handshake line longer than ${MAX_HANDSHAKE_BYTES} bytes: ${escapeBytes(bytes)}`);
    return null;
  }
  const line = new TextDecoder().decode(bytes.subarray(0, nl));
  const m = /^ZFERRY (\d{1,6}) (\S+)$/.exec(line);
  if (!m || !SOFTWARE_RE.test(m[2]!)) throw new ProtocolError(`Malformed handshake line: ${escapeBytes(bytes.subarray(0, nl + 1))}`);
  return { hello: { protocol: Number(m[1]), software: m[2]! }, used: nl + 1 };
}

/**
 * Checks that the peer speaks our protocol version.
 * @throws ProtocolError naming both versions
 */
export function checkPeerHello(peer: Hello, ours: string): void {
  if (peer.protocol !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      `Protocol version mismatch: the peer (${peer.software}) speaks protocol ${peer.protocol}, this side (${ours}) speaks ${PROTOCOL_VERSION}; install the same zferry version on both ends`,
    );
  }
}

/** Shows bytes as an escaped string, so a banner or binary junk is readable in one line. */
export function escapeBytes(bytes: Uint8Array, max = 48): string {
  let out = "";
  for (const b of bytes.subarray(0, max)) {
    if (b === 0x5c) out += "\\\\";
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else if (b === 0x0a) out += "\\n";
    else if (b === 0x0d) out += "\\r";
    else if (b === 0x09) out += "\\t";
    else out += `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return `"${out}${bytes.length > max ? "…" : ""}"`;
}

function notZferry(bytes: Uint8Array): ProtocolError {
  return new ProtocolError(
    `The peer does not speak zferry: expected a line starting with "${HANDSHAKE_MAGIC} ", got ${escapeBytes(bytes)} (a login banner or shell output on the ssh channel?)`,
  );
}
