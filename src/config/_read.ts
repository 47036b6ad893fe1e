/**
 * Typed readers for raw TOML values. Each takes the value and where it sits (file + key path) and
 * either returns the typed value or throws a ConfigError naming both.
 */
import { ConfigError } from "./config-error.ts";
import { formatKeyPath, type KeyPath } from "./_key-path.ts";
import { parseDurationMs } from "./duration.ts";

/** Where a value sits: the file and the key path inside it. */
export interface At {
  readonly file: string;
  readonly path: KeyPath;
}

export type Table = Readonly<Record<string, unknown>>;

/** Throws a ConfigError at `where`. */
export function fail(where: At, reason: string, options?: ErrorOptions): never {
  throw new ConfigError(where.file, formatKeyPath(where.path), reason, options);
}

/** The position of `key` inside `where`. */
export function at(where: At, key: string | number): At {
  return { file: where.file, path: [...where.path, key] };
}

/**
 * Reads a table; with `keys`, any other key is an error at that key's path.
 * @throws ConfigError
 */
export function readTable(value: unknown, where: At, keys?: readonly string[]): Table {
  if (!isTable(value)) fail(where, `expected a table, got ${typeName(value)}`);
  if (keys) {
    for (const key of Object.keys(value)) {
      if (!keys.includes(key)) fail(at(where, key), `unknown key; expected one of: ${keys.join(", ")}`);
    }
  }
  return value;
}

/** Reads a non-empty string without control characters (no name, path or host contains one). */
export function readString(value: unknown, where: At): string {
  if (typeof value !== "string") fail(where, `expected a string, got ${typeName(value)}`);
  if (value === "") fail(where, "must not be empty");
  if (/[\u0000-\u001f\u007f]/.test(value)) fail(where, `must not contain control characters: ${JSON.stringify(value)}`);
  return value;
}

export function readBoolean(value: unknown, where: At): boolean {
  if (typeof value !== "boolean") fail(where, `expected a boolean, got ${typeName(value)}`);
  return value;
}

/** Reads an integer in `[min, max]`. */
export function readInteger(value: unknown, where: At, range: { min: number; max: number }): number {
  if (typeof value !== "number" || !Number.isInteger(value)) fail(where, `expected an integer, got ${typeName(value)}`);
  if (value < range.min || value > range.max) fail(where, `${value} is out of range ${range.min}..${range.max}`);
  return value;
}

export function readArray(value: unknown, where: At): readonly unknown[] {
  if (!Array.isArray(value)) fail(where, `expected an array, got ${typeName(value)}`);
  return value;
}

/** Reads a string that must be one of `allowed`. */
export function readEnum<T extends string>(value: unknown, where: At, allowed: readonly T[]): T {
  const s = readString(value, where);
  if (!(allowed as readonly string[]).includes(s)) {
    fail(where, `${JSON.stringify(s)} is not one of: ${allowed.map((a) => JSON.stringify(a)).join(", ")}`);
  }
  return s as T;
}

/** Reads `table[key]` with `read`, or returns `fallback` when the key is absent. */
export function optional<T>(table: Table, key: string, where: At, read: (value: unknown, where: At) => T, fallback: T): T {
  return Object.hasOwn(table, key) ? read(table[key], at(where, key)) : fallback;
}

/** Reads `table[key]` with `read`; a missing key is an error at its path. */
export function required<T>(table: Table, key: string, where: At, read: (value: unknown, where: At) => T): T {
  if (!Object.hasOwn(table, key)) fail(at(where, key), "missing required key");
  return read(table[key], at(where, key));
}

/** A TOML type name with its article, for "expected X, got Y". */
export function typeName(value: unknown): string {
  if (value === undefined || value === null) return "nothing";
  if (typeof value === "string") return "a string";
  if (typeof value === "boolean") return "a boolean";
  if (typeof value === "bigint") return "an integer";
  if (typeof value === "number") return Number.isInteger(value) ? "an integer" : "a float";
  if (value instanceof Date) return "a date";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "a table";
  return typeof value;
}

// --- internal ---

function isTable(value: unknown): value is Table {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** Reads a duration (seconds as a number, or a string such as "1h30m") in milliseconds. */
export function readDuration(value: unknown, where: At): number {
  try {
    return parseDurationMs(value);
  } catch (cause) {
    return fail(where, (cause as Error).message, { cause });
  }
}
