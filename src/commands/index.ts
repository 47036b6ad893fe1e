/**
 * commands: one citty command per file, loaded lazily by cli.ts (so stdinserver never loads the
 * client). Only what cli.ts needs before choosing a command is exported here.
 */
export { BusyError, EXIT_BUSY, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from "./errors.ts";
