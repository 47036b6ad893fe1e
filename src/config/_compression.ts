/** Reads a job's `compression` key: `"none"`, `"zstd"`, or `{ type, level, threads, fallback, force }`. */
import { ZSTD_DEFAULT_LEVEL, ZSTD_MAX_LEVEL, ZSTD_MIN_LEVEL } from "../zfs/index.ts";
import { fail, optional, readBoolean, readEnum, readInteger, readTable, required, type At } from "./_read.ts";
import type { CompressionConfig } from "./types.ts";

const KEYS = ["type", "level", "threads", "fallback", "force"] as const;

export const NO_COMPRESSION: CompressionConfig = Object.freeze({ type: "none", level: ZSTD_DEFAULT_LEVEL, threads: 0, fallback: "error", force: false });

export function readCompression(value: unknown, where: At): CompressionConfig {
  if (typeof value === "string") {
    const type = readEnum(value, where, ["none", "zstd"] as const);
    return { ...NO_COMPRESSION, type };
  }
  const table = readTable(value, where, KEYS);
  const type = required(table, "type", where, (v, w) => readEnum(v, w, ["none", "zstd"] as const));
  if (type === "none" && Object.keys(table).length > 1) fail(where, `type "none" takes no other keys`);
  return {
    type,
    level: optional(table, "level", where, (v, w) => readInteger(v, w, { min: ZSTD_MIN_LEVEL, max: ZSTD_MAX_LEVEL }), ZSTD_DEFAULT_LEVEL),
    threads: optional(table, "threads", where, (v, w) => readInteger(v, w, { min: 0, max: 256 }), 0),
    fallback: optional(table, "fallback", where, (v, w) => readEnum(v, w, ["error", "none"] as const), "error"),
    force: optional(table, "force", where, readBoolean, false),
  };
}
