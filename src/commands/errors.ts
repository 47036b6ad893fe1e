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

/** sysexits.h EX_TEMPFAIL, "try again later": what cron wrappers and supervisors know as not a failure. */
export const EXIT_BUSY = 75;
