/** What the listing parsers of the zfs layer share: exact numbers, tokens, lines, errors naming the line. */
import { zfsOutputError } from "./errors.ts";
import { NameError } from "./names.ts";
import { RESUME_TOKEN_PATTERN } from "./resume-token.ts";

/** The `receive_resume_token` text OpenZFS prints when there is none. */
const NO_TOKEN = "-";

interface SortableVersion {
  readonly name: { readonly kind: "snapshot" | "bookmark"; readonly full: string };
  readonly createtxg: bigint;
}

const UINT64_TEXT = /^[0-9]{1,20}$/;

/** Decimal uint64 only: "16.0E", "-1" or "0x10" mean the wrong zfs invocation, not a number. */
export function parseUint64(text: string, what: string): bigint {
  if (!UINT64_TEXT.test(text)) throw new SyntaxError(`${what} ${JSON.stringify(text)} is not an exact unsigned integer`);
  const value = BigInt(text);
  if (value > 0xffff_ffff_ffff_ffffn) throw new RangeError(`${what} ${text} exceeds 64 bits`);
  return value;
}

/** A byte count as parseUint64 reads it, as a number (rounded beyond 2^53): sizes only estimate. */
export function parseApproxBytes(text: string, what: string): number {
  // Up to 15 digits it is below 2^53: exact, and no bigint on the way.
  return text.length <= 15 && UINT64_TEXT.test(text) ? Number(text) : Number(parseUint64(text, what));
}

/** Oldest first by createtxg; a bookmark before the snapshot of the same txg. */
export function compareVersions(a: SortableVersion, b: SortableVersion): number {
  if (a.createtxg !== b.createtxg) return a.createtxg < b.createtxg ? -1 : 1;
  if (a.name.kind !== b.name.kind) return a.name.kind === "bookmark" ? -1 : 1;
  return a.name.full < b.name.full ? -1 : a.name.full > b.name.full ? 1 : 0;
}

/**
 * A `receive_resume_token` value: null for none ("-"), the token when it looks like one.
 * @throws SyntaxError for anything else
 */
export function resumeTokenOf(value: string): string | null {
  if (value === NO_TOKEN || value === "") return null;
  if (!RESUME_TOKEN_PATTERN.test(value)) throw new SyntaxError(`receive_resume_token is not a token: ${JSON.stringify(value.slice(0, 80))}`);
  return value;
}

/**
 * A `-H` line's `count` tab-separated fields.
 * @throws SyntaxError when it has another number of fields
 */
export function tabFields(line: string, count: number): string[] {
  const fields = line.split("\t");
  if (fields.length !== count) throw new SyntaxError(`expected ${count} tab-separated fields, got ${fields.length}`);
  return fields;
}

export function lines(out: string): string[] {
  return out.split("\n").filter((line) => line !== "");
}

export function parseOrThrow<T>(argv: readonly string[], line: string, index: number, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof SyntaxError || error instanceof RangeError || error instanceof NameError) {
      throw zfsOutputError(argv, `line ${index + 1} ${JSON.stringify(line.slice(0, 200))}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

