/**
 * Errors of the RPC layer. `RpcError` is what a handler throws to refuse a call; its status goes on
 * the wire unchanged. Everything else a handler throws becomes `server_error`, with the detail in
 * the server's log, not on the wire.
 */

export const STATUSES = ["ok", "bad_request", "permission_denied", "not_found", "conflict", "busy", "unsupported", "server_error"] as const;
export type Status = (typeof STATUSES)[number];
export type ErrorStatus = Exclude<Status, "ok">;

/** A call that the server refused or that failed; `status` is what went over the wire. */
export class RpcError extends Error {
  override name = "RpcError";
  readonly status: ErrorStatus;
  constructor(status: ErrorStatus, message: string, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

/** The peer cancelled the body this side was producing, or closed the connection, with a reason. */
export class PeerResetError extends Error {
  override name = "PeerResetError";
}

/** An octet stream that ended with a failing trailer: the producer says why (e.g. `zfs send`'s stderr). */
export class StreamError extends Error {
  override name = "StreamError";
  readonly bytes: number;
  /** Set when this side's sink failed too (then that is usually the real cause). */
  readonly sinkError: string | null;
  constructor(message: string, bytes: number, sinkError: string | null = null) {
    super(message);
    this.bytes = bytes;
    this.sinkError = sinkError;
  }
}
