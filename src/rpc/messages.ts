/**
 * The CBOR messages that frames carry, and their validation. See docs/protocol.md §Messages.
 */
import { MAX_ERROR_TEXT } from "../wire/index.ts";
import { STATUSES, type Status } from "./errors.ts";
import { boolean, literal, object, optional, string, uint, type ObjectOf, type Parser } from "./schema.ts";

export const BODY_KINDS = ["none", "value", "octets"] as const;
export type BodyKind = (typeof BODY_KINDS)[number];

const bodyKind = literal(...BODY_KINDS);
const anyValue: Parser<unknown> & { optional: true } = Object.assign((v: unknown) => v, { optional: true as const });

export const parseRequestHeader = object({
  endpoint: string({ min: 1, max: 64 }),
  args: anyValue,
  body: bodyKind,
  accept: bodyKind,
});
export type RequestHeader = ObjectOf<{ endpoint: Parser<string>; args: typeof anyValue; body: typeof bodyKind; accept: typeof bodyKind }>;

export const parseResponseHeader = object({
  status: literal(...STATUSES) as Parser<Status>,
  message: optional(string({ max: MAX_ERROR_TEXT + 64 })),
  body: bodyKind,
});
export type ResponseHeader = { status: Status; message?: string; body: BodyKind };

export const parseTrailer = object({
  ok: boolean,
  bytes: uint,
  error: optional(string({ max: MAX_ERROR_TEXT + 64 })),
});
export type Trailer = { ok: boolean; bytes: number; error?: string };

/**
 * scope "stream": the receiver cancels the octet body the other side is producing (a stale one, for
 * a body already finished, is ignored). scope "connection": the sender is closing the connection.
 */
export const parseReset = object({ reason: string({ max: MAX_ERROR_TEXT + 64 }), scope: literal("stream", "connection") });
export type ResetScope = "stream" | "connection";
export type Reset = { reason: string; scope: ResetScope };

/** Keeps error text within MAX_ERROR_TEXT, keeping the end (where zfs puts the reason). */
export function clampErrorText(text: string): string {
  const t = text.trim();
  return t.length <= MAX_ERROR_TEXT ? t : `…${t.slice(t.length - MAX_ERROR_TEXT + 1)}`;
}
