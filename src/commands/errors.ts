/** A mistake in how zferry was invoked or configured: exit code 2, one line, no stack. */
export class UsageError extends Error {
  override name = "UsageError";
}
