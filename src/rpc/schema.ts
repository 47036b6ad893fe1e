/**
 * Small validators that turn decoded CBOR (`unknown`) into typed values. A failure names the field
 * path and what was expected, e.g. `"args.from": expected a string, got number`; the RPC layer turns
 * it into a `bad_request`. Objects reject unknown fields, so a typo is an error, not a silent no-op.
 */

export type Parser<T> = (value: unknown, path: string) => T;
export type Parsed<P> = P extends Parser<infer T> ? T : never;

/** A value that does not fit its schema; `path` is the field, e.g. "args.dataset". */
export class ValidationError extends TypeError {
  override name = "ValidationError";
  readonly path: string;
  /** The message without its path. */
  readonly detail: string;
  constructor(path: string, message: string) {
    super(path ? `"${path}": ${message}` : message);
    this.path = path;
    this.detail = message;
  }

  /** The same error, its path below `parent` (a field `a` or an item `[3]` of it). */
  under(parent: string): ValidationError {
    if (!parent) return this;
    const joined = this.path === "" ? parent : this.path.startsWith("[") || this.path.startsWith(".") ? `${parent}${this.path}` : `${parent}.${this.path}`;
    return new ValidationError(joined, this.detail);
  }
}

/**
 * `parser(value, "")`, an error's path then put below `path` and `child`: the paths of a wide
 * listing's millions of fields are only ever written out for the one that fails.
 */
function parseBelow<T>(parser: Parser<T>, value: unknown, path: string, child: string | number): T {
  try {
    return parser(value, "");
  } catch (err) {
    if (err instanceof ValidationError) throw err.under(typeof child === "number" ? `[${child}]` : child).under(path);
    throw err;
  }
}

/**
 * A text string; `min` and `max` count UTF-16 code units (JavaScript's length), `maxBytes` the
 * bytes of its UTF-8 encoding (what another implementation counts the same way).
 */
export function string(options: { max?: number; min?: number; maxBytes?: number } = {}): Parser<string> {
  const { max = 4096, min = 0, maxBytes } = options;
  return (v, path) => {
    if (typeof v !== "string") throw expected(path, "a string", v);
    if (v.length < min) throw new ValidationError(path, min === 1 ? "expected a non-empty string" : `expected at least ${min} characters`);
    if (v.length > max) throw new ValidationError(path, `longer than ${max} characters`);
    if (maxBytes !== undefined && v.length > maxBytes / 3) {
      const bytes = Buffer.byteLength(v, "utf8");
      if (bytes > maxBytes) throw new ValidationError(path, `longer than ${maxBytes} bytes of UTF-8 (${bytes})`);
    }
    return v;
  };
}

export const boolean: Parser<boolean> = (v, path) => {
  if (typeof v !== "boolean") throw expected(path, "a boolean", v);
  return v;
};

/** A non-negative safe integer (counts, sizes). */
export const uint: Parser<number> = (v, path) => {
  if (typeof v === "bigint" && v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw expected(path, "a non-negative integer", v);
  return v;
};

/** An unsigned 64-bit integer (GUIDs, txgs), exact as a bigint whatever width the peer encoded. */
export const u64: Parser<bigint> = (v, path) => {
  const b = typeof v === "number" && Number.isSafeInteger(v) ? BigInt(v) : v;
  if (typeof b !== "bigint" || b < 0n || b >= 1n << 64n) throw expected(path, "an unsigned 64-bit integer", v);
  return b;
};

/**
 * A byte count that only estimates (a snapshot's `referenced`, `written`): any unsigned 64-bit
 * integer on the wire, a number here, rounded beyond 2^53 bytes (8 PiB). A number costs a wide
 * listing nothing; a bigint is a heap cell per value.
 */
export const approxBytes: Parser<number> = (v, path) => (typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : Number(u64(v, path)));

/** One of `values`; the value returned is the literal itself, not the decoded copy (a wide listing repeats them). */
export function literal<const T extends string>(...values: T[]): Parser<T> {
  return (v, path) => {
    const known = typeof v === "string" ? (values as string[]).indexOf(v) : -1;
    if (known < 0) throw new ValidationError(path, `expected one of ${values.map((x) => JSON.stringify(x)).join(", ")}, got ${describe(v)}`);
    return values[known]!;
  };
}

export function optional<T>(parser: Parser<T>): Parser<T | undefined> & { optional: true } {
  const p = ((v: unknown, path: string) => (v === undefined || v === null ? undefined : parser(v, path))) as Parser<T | undefined> & { optional: true };
  p.optional = true;
  return p;
}

export function array<T>(item: Parser<T>, options: { max?: number } = {}): Parser<T[]> {
  const { max = 100_000 } = options;
  return (v, path) => {
    if (!Array.isArray(v)) throw expected(path, "an array", v);
    if (v.length > max) throw new ValidationError(path, `more than ${max} items`);
    return v.map((x, i) => parseBelow(item, x, path, i));
  };
}

type Shape = Record<string, Parser<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { optional: true } ? K : never }[keyof S];
export type ObjectOf<S extends Shape> = { [K in Exclude<keyof S, OptionalKeys<S>>]: Parsed<S[K]> } & {
  [K in OptionalKeys<S>]?: Parsed<S[K]>;
};

/** A plain object (CBOR map with text keys) with exactly these fields; optional ones may be absent. */
export function object<S extends Shape>(shape: S): Parser<ObjectOf<S>> {
  const fields = Object.entries(shape);
  return (v, path) => {
    if (typeof v !== "object" || v === null || Array.isArray(v) || ArrayBuffer.isView(v) || v instanceof Map || v instanceof Date) {
      throw expected(path, "a map", v);
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(v)) {
      if (!(key in shape)) throw new ValidationError(join(path, key), "unknown field");
    }
    for (const [key, parser] of fields) {
      const value = parseBelow(parser, (v as Record<string, unknown>)[key], path, key);
      if (value !== undefined) out[key] = value;
    }
    return out as ObjectOf<S>;
  };
}

/** Wraps a checking function (e.g. a ZFS name check) so its error names the field. */
export function checked<T>(check: (v: unknown) => T): Parser<T> {
  return (v, path) => {
    try {
      return check(v);
    } catch (err) {
      throw new ValidationError(path, (err as Error).message);
    }
  };
}

/** Accepts nothing: for endpoints without arguments (absent or an empty map). */
export const none: Parser<undefined> = (v, path) => {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "object" && !Array.isArray(v) && Object.keys(v as object).length === 0) return undefined;
  throw new ValidationError(path, "expected no arguments");
};

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function expected(path: string, what: string, got: unknown): ValidationError {
  return new ValidationError(path, `expected ${what}, got ${describe(got)}`);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (ArrayBuffer.isView(v)) return "bytes";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return typeof v;
}
