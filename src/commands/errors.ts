/** A mistake in how zferry was invoked or configured: exit code 2, one line, no stack. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Another run holds a lock this run needs (the same job, or an overlapping dataset tree): nothing
 * was done. Exit code EXIT_BUSY, one line, no stack.
 */
export class BusyError extends Error {
  override name = "BusyError";
}

/*
 * The exit codes, stable and documented (README § Exit codes); cli.ts is the one place that maps
 * errors onto them. Changing one breaks every timer unit and cron wrapper that branches on it.
 */

/** Everything succeeded (or was up to date). */
export const EXIT_OK = 0;
/** A failure at run time: a filesystem failed, or the job could not run (no connection, no root). */
export const EXIT_FAILURE = 1;
/** Not started: a usage or configuration error. */
export const EXIT_USAGE = 2;
/** sysexits.h EX_TEMPFAIL, "try again later": what cron wrappers and supervisors know as not a failure. */
export const EXIT_BUSY = 75;
