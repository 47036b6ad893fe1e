/**
 * wire: the bytes on the connection. The handshake line, the 8-byte frame header, reading and
 * writing frames, and the data pumps that move octet streams between fds and the connection.
 * It knows frame types and limits, not endpoints or messages (that is rpc/), and never writes
 * to stdout except through the sink it is given.
 */
export { ConnectionError, ProtocolError } from "./errors.ts";
export { FLAG_END, FrameType, decodeFrameHeader, encodeFrameHeader, frameHeader, frameTypeName, type FrameHeader } from "./frame.ts";
export { FrameReader, type Frame } from "./frame-reader.ts";
export { FrameWriter } from "./frame-writer.ts";
export { checkPeerHello, decodeHello, encodeHello, escapeBytes, type Hello } from "./handshake.ts";
export * from "./limits.ts";
export { pumpMode, sendFrameBytes, startReceivePump, startSendPump, type ReceiveHandle, type SendHandle } from "./data-path.ts";
