/**
 * Client identities: the name in `command="zferry stdinserver NAME"` and the key of `[clients.NAME]`.
 * They reach argv and log lines, so the alphabet is small and a leading "-" (an option) is refused.
 * Job names follow the same rule.
 */

export const MAX_IDENTITY_LENGTH = 64;

const IDENTITY_CHARS = /^[A-Za-z0-9_.-]+$/;

/**
 * Checks an identity or job name: 1..64 of `[A-Za-z0-9_.-]`, not starting with "-".
 * @throws TypeError naming the rule that failed
 */
export function parseIdentity(input: unknown): string {
  if (typeof input !== "string") throw new TypeError(`invalid identity: expected a string, got ${typeof input}`);
  const quoted = JSON.stringify(input);
  if (input.length === 0) throw new TypeError("invalid identity: empty");
  if (input.length > MAX_IDENTITY_LENGTH) throw new TypeError(`invalid identity ${quoted}: longer than ${MAX_IDENTITY_LENGTH} characters`);
  if (!IDENTITY_CHARS.test(input)) throw new TypeError(`invalid identity ${quoted}: only A-Z, a-z, 0-9, "_", "." and "-" are allowed`);
  if (input.startsWith("-")) throw new TypeError(`invalid identity ${quoted}: must not begin with "-"`);
  return input;
}
