/**
 * The errors the zfs layer throws. Callers branch on the class: `ZfsError` is zfs refusing or
 * failing (its stderr goes to the peer), `ZfsUnsupportedError` is a feature this zfs lacks (the
 * caller may fall back), `ZfsNotFoundError` is a misconfigured `[zfs] bin`.
 */

/** At most this much of a zfs child's stderr is kept (zrepl keeps a 32 KiB tail too). */
export const MAX_STDERR_BYTES = 32 * 1024;

/** Longest stderr excerpt put into an error message; the full tail stays in `.stderr`. */
const MESSAGE_STDERR_CHARS = 400;

/** zfs exited non-zero, or printed something this layer cannot parse. */
export class ZfsError extends Error {
  override name = "ZfsError";
  /** The argv after the binary, e.g. `["send", "-i", "tank/a@s1", "tank/a@s2"]`. */
  readonly argv: readonly string[];
  /** The exit status; 0 when zfs succeeded but its output did not parse, 128+n for signal n. */
  readonly exitCode: number;
  /** The last MAX_STDERR_BYTES of stderr. */
  readonly stderr: string;

  constructor(message: string, details: { argv: readonly string[]; exitCode: number; stderr: string; cause?: unknown }) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.argv = details.argv;
    this.exitCode = details.exitCode;
    this.stderr = details.stderr;
  }

  /** zfs said the dataset (or snapshot) it was asked about does not exist. */
  get isDatasetMissing(): boolean {
    return this.stderr.includes("dataset does not exist");
  }
}

/** A feature (a flag or a subcommand) the installed zfs does not have. */
export class ZfsUnsupportedError extends Error {
  override name = "ZfsUnsupportedError";
  /** What was asked for, e.g. `raw send (zfs send -w)`. */
  readonly feature: string;

  constructor(feature: string, bin = "zfs") {
    super(`Cannot use ${feature}: the installed zfs (${JSON.stringify(bin)}) does not support it`);
    this.feature = feature;
  }
}

/** The configured zfs binary could not be started at all. */
export class ZfsNotFoundError extends Error {
  override name = "ZfsNotFoundError";
  readonly bin: string;

  constructor(bin: string, cause?: unknown) {
    super(`zfs not found at ${JSON.stringify(bin)}: check [zfs] bin in the config`, { cause });
    this.bin = bin;
  }
}

/**
 * Builds the error for a zfs child that exited non-zero, in the layer's message shape:
 * `send "tank/a@s2": zfs exited 1: cannot open 'tank/a@s1': dataset does not exist`.
 */
export function zfsExitError(subject: string, details: { argv: readonly string[]; exitCode: number; stderr: string }): ZfsError {
  const said = summarizeStderr(details.stderr);
  const status = details.exitCode > 128 ? `zfs was killed by signal ${details.exitCode - 128}` : `zfs exited ${details.exitCode}`;
  return new ZfsError(`${subject}: ${status}${said ? `: ${said}` : ""}`, details);
}

/** zfs succeeded (or half did) but printed something this layer cannot parse. */
export function zfsOutputError(
  argv: readonly string[],
  detail: string,
  options: { exitCode?: number; stderr?: string; cause?: unknown } = {},
): ZfsError {
  const { exitCode = 0, stderr = "", cause } = options;
  return new ZfsError(`${describeArgv(argv)}: cannot parse zfs output: ${detail}`, { argv, exitCode, stderr, cause });
}

/** The subject for messages about a zfs argv: the subcommand and its last argument. */
export function describeArgv(argv: readonly string[]): string {
  const last = argv.length > 1 ? argv[argv.length - 1] : undefined;
  return last === undefined ? `zfs ${argv[0] ?? ""}`.trim() : `${argv[0]} ${JSON.stringify(last)}`;
}

// --- internal ---

function summarizeStderr(stderr: string): string {
  // Usage text after an error line only repeats what the argv already shows.
  const text = stderr.split(/(?:^|\n)usage:\n/)[0]!.trim().replace(/\s*\n\s*/g, " ");
  return text.length > MESSAGE_STDERR_CHARS ? `${text.slice(0, MESSAGE_STDERR_CHARS)}…` : text;
}
