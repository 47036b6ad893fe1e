/**
 * The CBOR messages that frames carry, and their validation. See docs/protocol.md §Messages.
 */
import { MAX_ERROR_TEXT } from "../wire/index.ts";
import { STATUSES, type Status } from "./errors.ts";
import { REQUEST_ID } from "./request-id.ts";
import { ValidationError, boolean, literal, object, optional, string, uint, type ObjectOf, type Parser } from "./schema.ts";

export const BODY_KINDS = ["none", "value", "octets"] as const;
export type BodyKind = (typeof BODY_KINDS)[number];

const bodyKind = literal(...BODY_KINDS);
/** A response message, trailer error or reset reason: at most MAX_ERROR_TEXT bytes of UTF-8. */
const errorText = string({ max: MAX_ERROR_TEXT, maxBytes: MAX_ERROR_TEXT });
const anyValue: Parser<unknown> & { optional: true } = Object.assign((v: unknown) => v, { optional: true as const });

/** A request id (request-id.ts): optional, so peers that predate it still call. */
const requestId: Parser<string> = (v, path) => {
  const id = string({ min: 1, max: 32 })(v, path);
  if (!REQUEST_ID.test(id)) throw new ValidationError(path, `expected letters, digits, "_" or "-", got ${JSON.stringify(id)}`);
  return id;
};

export const parseRequestHeader = object({
  endpoint: string({ min: 1, max: 64 }),
  args: anyValue,
  body: bodyKind,
  accept: bodyKind,
  request: optional(requestId),
});
export type RequestHeader = ObjectOf<{
  endpoint: Parser<string>;
  args: typeof anyValue;
  body: typeof bodyKind;
  accept: typeof bodyKind;
  request: ReturnType<typeof optional<string>>;
}>;

export const parseResponseHeader = object({
  status: literal(...STATUSES) as Parser<Status>,
  message: optional(errorText),
  body: bodyKind,
});
export type ResponseHeader = { status: Status; message?: string; body: BodyKind };

export const parseTrailer = object({
  ok: boolean,
  bytes: uint,
  error: optional(errorText),
});
export type Trailer = { ok: boolean; bytes: number; error?: string };

/**
 * scope "stream": the receiver cancels the octet body the other side is producing (a stale one, for
 * a body already finished, is ignored). scope "connection": the sender is closing the connection.
 */
export const parseReset = object({ reason: errorText, scope: literal("stream", "connection") });
export type ResetScope = "stream" | "connection";
export type Reset = { reason: string; scope: ResetScope };

/**
 * Keeps error text within MAX_ERROR_TEXT bytes of UTF-8: longer text keeps its end (where zfs puts
 * the reason) behind a "…", cut between code points.
 */
export function clampErrorText(text: string): string {
  const t = text.trim();
  if (t.length <= MAX_ERROR_TEXT / 3 || Buffer.byteLength(t, "utf8") <= MAX_ERROR_TEXT) return t;
  let budget = MAX_ERROR_TEXT - ELLIPSIS_BYTES;
  let i = t.length;
  while (i > 0) {
    const c = t.charCodeAt(i - 1);
    const pair = c >= 0xdc00 && c <= 0xdfff && i >= 2 && (t.charCodeAt(i - 2) & 0xfc00) === 0xd800;
    const bytes = pair ? 4 : c < 0x80 ? 1 : c < 0x800 ? 2 : 3; // a lone surrogate goes out as U+FFFD: 3
    if (bytes > budget) break;
    budget -= bytes;
    i -= pair ? 2 : 1;
  }
  return `…${t.slice(i)}`;
}

/** "…" (U+2026) in UTF-8. */
const ELLIPSIS_BYTES = 3;
