/** Readers for dataset names and filters, turning NameError and FilterError into ConfigError. */
import { parseDatasetName, type DatasetName } from "../zfs/index.ts";
import { ConfigError } from "./config-error.ts";
import { formatKeyPath } from "./_key-path.ts";
import { fail, readString, readTable, type At } from "./_read.ts";
import { DatasetFilter, FilterError } from "./filter.ts";

export function readDatasetName(value: unknown, where: At): DatasetName {
  const s = readString(value, where);
  try {
    return parseDatasetName(s);
  } catch (cause) {
    return fail(where, (cause as Error).message.replace(/^Invalid/, "invalid"), { cause });
  }
}

export function readFilter(value: unknown, where: At): DatasetFilter {
  const table = readTable(value, where);
  try {
    return DatasetFilter.fromMap(table, formatKeyPath(where.path));
  } catch (cause) {
    if (cause instanceof FilterError) throw new ConfigError(where.file, cause.keyPath, cause.reason, { cause });
    throw cause;
  }
}
