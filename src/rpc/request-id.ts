/**
 * Request ids: a short random id per call, sent in the request header and logged by both ends,
 * so one transfer can be followed across the client's output and the server's log. Random rather
 * than a counter: ids from several clients (and runs) meet in one server log.
 */
import { randomBytes } from "node:crypto";

/** The ids a request header may carry: what a log line can hold unquoted. */
export const REQUEST_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** A fresh id: 12 hex digits (48 random bits). */
export function newRequestId(): string {
  return randomBytes(6).toString("hex");
}

/** The request id that `err` or one of its causes was tagged with by RpcClient, or null. */
export function requestIdOf(err: unknown): string | null {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const id = (e as { requestId?: unknown }).requestId;
    if (typeof id === "string") return id;
  }
  return null;
}
