/**
 * rpc: calls over a framed connection.
 *
 *   client.ts / serve.ts      one call at a time: request header + body → response header + body
 *   connection.ts             handshake, messages, octet bodies, idle timeout, poisoning
 *   ─────────────── wire/ ── frames, handshake line, data pumps
 *   ─────────────── transport/ ── bytes (stdio, child pipes, memory)
 *
 * Endpoints are registered with `defineEndpoint`; the layer knows nothing about ZFS.
 */
export { RpcClient, type CallOptions } from "./client.ts";
export { decodeCbor, encodeCbor } from "./codec.ts";
export { RpcConnection, type ConnectionOptions } from "./connection.ts";
export { CborWriter } from "./cbor-writer.ts";
export { MAX_RECORD_BYTES, RecordBuilder, RecordDecoder } from "./record-stream.ts";
export { EndpointRegistry, defineEndpoint, type Endpoint, type HandlerContext, type IncomingOctets } from "./endpoint.ts";
export { PeerResetError, RpcError, STATUSES, StreamError, type ErrorStatus, type Status } from "./errors.ts";
export { BODY_KINDS, clampErrorText, type BodyKind, type RequestHeader, type ResponseHeader, type Trailer } from "./messages.ts";
export type { BodySink, GatedSink, OctetProducer, OctetSink, OctetSource, ProgressProbe, ReceivedBody } from "./octets.ts";
export * as schema from "./schema.ts";
export { ValidationError, type Parser } from "./schema.ts";
export { serve, type CallLogEntry, type CallOutcome, type ServeOptions } from "./serve.ts";
export { REQUEST_ID, newRequestId, requestIdOf } from "./request-id.ts";
