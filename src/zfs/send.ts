/**
 * argv for `zfs send` and its size estimate. Every flag is checked against the probed
 * capabilities here, so an old zfs fails with a named feature instead of a usage dump.
 */
import { ZfsUnsupportedError, zfsExitError, zfsOutputError } from "./errors.ts";
import type { ZfsCapabilities } from "./capabilities.ts";
import type { VersionName } from "./names.ts";
import { checkToken } from "./resume-token.ts";
import type { ZfsRunOptions, ZfsRunner } from "./runner.ts";

/** Optional stream features; each needs the matching capability. */
export interface SendFlags {
  /** `-w`: encrypted blocks as they are on disk. */
  readonly raw?: boolean;
  /** `-c`: compressed blocks as they are on disk. */
  readonly compressed?: boolean;
  /** `-L`: records larger than 128 KiB. */
  readonly largeBlocks?: boolean;
  /** `-e`: embedded-data blocks. */
  readonly embedded?: boolean;
  /** `-p`: dataset properties. */
  readonly properties?: boolean;
}

export interface SendRequest {
  /** The snapshot to send. */
  readonly to: VersionName;
  /** The incremental source, a snapshot or bookmark of the same dataset; full send without it. */
  readonly from?: VersionName;
  /** `-I` (every snapshot between from and to) instead of `-i`. */
  readonly intermediates?: boolean;
  readonly flags?: SendFlags;
}

const FLAG_TABLE = [
  ["raw", "-w", "raw", "raw send (zfs send -w)"],
  ["compressed", "-c", "compressed", "compressed send (zfs send -c)"],
  ["largeBlocks", "-L", "largeBlocks", "large-block send (zfs send -L)"],
  ["embedded", "-e", "embedded", "embedded-data send (zfs send -e)"],
  ["properties", "-p", "properties", "sending properties (zfs send -p)"],
] as const satisfies readonly (readonly [keyof SendFlags, string, keyof ZfsCapabilities, string])[];

/**
 * Builds `send [-w -c -L -e -p] [-i|-I from] to`.
 * @throws TypeError for a request zfs would refuse (to is a bookmark, from on another dataset, …)
 * @throws ZfsUnsupportedError for a flag or bookmark source this zfs lacks
 */
export function sendArgv(request: SendRequest, caps: ZfsCapabilities): string[] {
  const { to, from, intermediates = false } = request;
  const subject = `send ${JSON.stringify(to.full)}`;
  if (to.kind !== "snapshot") throw new TypeError(`${subject}: only a snapshot can be sent`);
  const argv = ["send", ...flagArgv(request.flags ?? {}, caps)];
  if (from) {
    if (from.dataset !== to.dataset) {
      throw new TypeError(`${subject}: incremental source ${JSON.stringify(from.full)} is on another dataset`);
    }
    if (from.kind === "bookmark" && !caps.bookmarks) throw new ZfsUnsupportedError("a bookmark as incremental source");
    if (intermediates) {
      if (from.kind === "bookmark") throw new TypeError(`${subject}: -I cannot start at bookmark ${JSON.stringify(from.full)}`);
      if (!caps.intermediates) throw new ZfsUnsupportedError("intermediate snapshots (zfs send -I)");
    }
    argv.push(intermediates ? "-I" : "-i", from.full);
  } else if (intermediates) {
    throw new TypeError(`${subject}: -I needs an incremental source`);
  }
  argv.push(to.full);
  return argv;
}

/**
 * Builds `send [flags] -t TOKEN` to resume an interrupted stream.
 * @throws SyntaxError when `token` does not look like a resume token
 * @throws ZfsUnsupportedError when this zfs cannot resume
 */
export function resumeSendArgv(token: string, caps: ZfsCapabilities, flags: SendFlags = {}): string[] {
  checkToken(token);
  if (!caps.resumable) throw new ZfsUnsupportedError("resumable send (zfs send -t)");
  return ["send", ...flagArgv(flags, caps), "-t", token];
}

/**
 * Asks zfs how many bytes a send will produce (`zfs send -n -P`); null when this zfs cannot
 * estimate. Pass `{ token }` to estimate the rest of a resumed send.
 * @throws ZfsError when zfs fails or its answer does not parse
 */
export async function estimateSendSize(
  runner: ZfsRunner,
  request: SendRequest | { readonly token: string },
  options: ZfsRunOptions = {},
): Promise<bigint | null> {
  const caps = await runner.capabilities();
  if (!caps.sendEstimate) return null;
  const send = "token" in request ? resumeSendArgv(request.token, caps) : sendArgv(request, caps);
  const argv = ["send", "-n", "-P", ...send.slice(1)];
  const out = await runner.capture(argv, options);
  const subject = "token" in request ? "estimate resumed send" : `estimate send ${JSON.stringify(request.to.full)}`;
  if (out.exitCode !== 0) throw zfsExitError(subject, { argv, exitCode: out.exitCode, stderr: out.stderr });
  const size = parseSendEstimate(out.stdout);
  if (size === null) throw zfsOutputError(argv, "no size line in zfs send -nP output", { stderr: out.stderr });
  return size;
}

/**
 * Reads the total from `zfs send -nP` output: the `size\tN` line, or the sum of the `full`/
 * `incremental` lines when zfs printed no total. Null when there is neither. Exported for tests.
 */
export function parseSendEstimate(out: string): bigint | null {
  let sum: bigint | null = null;
  for (const line of out.split("\n")) {
    const total = /^size\t([0-9]{1,20})$/.exec(line);
    if (total) return BigInt(total[1]!);
    const step = /^(?:full\t[^\t]+|incremental\t[^\t]+\t[^\t]+)\t([0-9]{1,20})$/.exec(line);
    if (step) sum = (sum ?? 0n) + BigInt(step[1]!);
  }
  return sum;
}

// --- internal ---

function flagArgv(flags: SendFlags, caps: ZfsCapabilities): string[] {
  const argv: string[] = [];
  for (const [key, flag, cap, feature] of FLAG_TABLE) {
    if (!flags[key]) continue;
    if (!caps[cap]) throw new ZfsUnsupportedError(feature);
    argv.push(flag);
  }
  return argv;
}
