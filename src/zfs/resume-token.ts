/**
 * Decoding a `receive_resume_token` by letting zfs print it (`zfs send -nvt TOKEN`), as zrepl
 * does: the token is a zlib-compressed nvlist and zfs is the reference decoder. The dump is read
 * strictly; anything unexpected rejects the token rather than guessing.
 */
import { ZfsUnsupportedError, zfsExitError, zfsOutputError } from "./errors.ts";
import { NameError, parseVersionName, type VersionName } from "./names.ts";
import type { ZfsRunOptions, ZfsRunner } from "./runner.ts";

/** What a resume token says about the interrupted stream. Names follow the nvlist keys. */
export interface ResumeTokenInfo {
  /** The snapshot being sent, named as on the sending side. */
  readonly toname: VersionName;
  readonly toguid: bigint;
  /** Present for an incremental stream. */
  readonly fromguid?: bigint;
  readonly object: bigint;
  readonly offset: bigint;
  /** Bytes already received. */
  readonly bytes: bigint;
  readonly largeblockok: boolean;
  readonly embedok: boolean;
  readonly compressok: boolean;
  readonly rawok: boolean;
}

const HEADER = "resume token contents:";

/** Resume tokens: `<version>-<checksum>-<packed length>-<hex payload>`, all hex. */
export const RESUME_TOKEN_PATTERN = /^[0-9]+-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+$/;

/** @throws SyntaxError when `token` is not `<version>-<hex>-<hex>-<hex>` */
export function checkToken(token: string): void {
  if (!RESUME_TOKEN_PATTERN.test(token)) {
    throw new SyntaxError(`Invalid resume token ${JSON.stringify(token.slice(0, 40))}: expected "<version>-<hex>-<hex>-<hex>"`);
  }
}

/**
 * Decodes `token` with `zfs send -nvt`. zfs exits non-zero when the snapshot is not on this host
 * (a receiver decoding its own token), yet still prints the contents, so the exit status only
 * matters when nothing was printed.
 * @throws SyntaxError when `token` is not token-shaped (zfs is not asked)
 * @throws ZfsUnsupportedError when this zfs cannot resume
 * @throws ZfsError when zfs rejects the token or prints a dump that does not parse
 */
export async function decodeResumeToken(runner: ZfsRunner, token: string, options: ZfsRunOptions = {}): Promise<ResumeTokenInfo> {
  checkToken(token);
  if (!(await runner.capabilities()).resumable) throw new ZfsUnsupportedError("resume tokens (zfs send -t)");
  const argv = ["send", "-nvt", token];
  const out = await runner.capture(argv, options);
  const subject = `decode resume token ${JSON.stringify(`${token.slice(0, 24)}…`)}`;
  if (!out.stdout.includes(HEADER)) {
    if (out.exitCode !== 0) throw zfsExitError(subject, { argv, exitCode: out.exitCode, stderr: out.stderr });
    throw zfsOutputError(argv, `no "${HEADER}" in zfs output`, { stderr: out.stderr });
  }
  try {
    return parseResumeTokenDump(out.stdout);
  } catch (error) {
    throw zfsOutputError(argv, (error as Error).message, { exitCode: out.exitCode, stderr: out.stderr, cause: error });
  }
}

/**
 * Parses the `resume token contents:` nvlist dump printed by `zfs send -nvt`. Exported for tests.
 * @throws SyntaxError for a missing header, a missing required key, a duplicate key or a bad value
 */
export function parseResumeTokenDump(out: string): ResumeTokenInfo {
  const lines = out.split("\n");
  const start = lines.indexOf(HEADER);
  if (start < 0) throw new SyntaxError(`no "${HEADER}" line`);
  if (lines[start + 1] !== "nvlist version: 0") throw new SyntaxError(`expected "nvlist version: 0" after "${HEADER}"`);
  const pairs = new Map<string, string>();
  for (const line of lines.slice(start + 2)) {
    // Members are indented by one tab; the first line without one ends the dump.
    const m = /^\t([a-z_]+) = (.*)$/.exec(line);
    if (!m) break;
    if (pairs.has(m[1]!)) throw new SyntaxError(`duplicate key ${JSON.stringify(m[1])}`);
    pairs.set(m[1]!, m[2]!);
  }
  const toname = pairs.get("toname");
  if (toname === undefined) throw new SyntaxError(`missing key "toname"`);
  let name: VersionName;
  try {
    name = parseVersionName(toname);
  } catch (error) {
    if (error instanceof NameError) throw new SyntaxError(`toname: ${error.message}`, { cause: error });
    throw error;
  }
  if (name.kind !== "snapshot") throw new SyntaxError(`toname ${JSON.stringify(toname)} is not a snapshot`);
  const fromguid = pairs.has("fromguid") ? hex64(pairs, "fromguid") : undefined;
  return {
    toname: name,
    toguid: hex64(pairs, "toguid"),
    ...(fromguid === undefined ? {} : { fromguid }),
    object: hex64(pairs, "object"),
    offset: hex64(pairs, "offset"),
    bytes: hex64(pairs, "bytes"),
    largeblockok: flag(pairs, "largeblockok"),
    embedok: flag(pairs, "embedok"),
    compressok: flag(pairs, "compressok"),
    rawok: flag(pairs, "rawok"),
  };
}

// --- internal ---

/** nvlist_print renders uint64 as `0x%llx`. */
function hex64(pairs: Map<string, string>, key: string): bigint {
  const text = pairs.get(key);
  if (text === undefined) throw new SyntaxError(`missing key ${JSON.stringify(key)}`);
  if (!/^0x[0-9a-f]{1,16}$/.test(text)) throw new SyntaxError(`${key} ${JSON.stringify(text)} is not a 64-bit hex number`);
  return BigInt(text);
}

/** Boolean flags are present (`= 1`) or absent. */
function flag(pairs: Map<string, string>, key: string): boolean {
  const text = pairs.get(key);
  if (text === undefined) return false;
  if (text !== "1") throw new SyntaxError(`${key} ${JSON.stringify(text)} is not "1"`);
  return true;
}
