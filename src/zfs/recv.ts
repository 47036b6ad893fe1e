/**
 * argv for `zfs receive` and the abort of a saved partial receive.
 */
import { ZfsError, ZfsUnsupportedError } from "./errors.ts";
import type { ZfsCapabilities } from "./capabilities.ts";
import type { DatasetName, VersionName } from "./names.ts";
import type { ZfsRunOptions, ZfsRunner } from "./runner.ts";

export interface RecvRequest {
  /** The filesystem to receive into, or the exact snapshot name to create. */
  readonly target: DatasetName | VersionName;
  /** `-s`: keep a partial receive so it can be resumed with a token. */
  readonly resumable?: boolean;
  /** `-u`: do not mount the received filesystem. */
  readonly noMount?: boolean;
  /** `-F`: roll back or replace the target first. Destroys data; callers opt in per receive. */
  readonly force?: boolean;
  /** `-o name=value` each: set on the target as part of the receive. */
  readonly properties?: Readonly<Record<string, string>>;
  /** `-x name` each: the stream's value of these properties is ignored (the target inherits them). */
  readonly exclude?: readonly string[];
}

/**
 * Builds `receive [-s] [-u] [-F] [-x name]... [-o name=value]... target`.
 * @throws TypeError when the target is a bookmark
 * @throws ZfsUnsupportedError for a flag this zfs lacks
 */
export function recvArgv(request: RecvRequest, caps: ZfsCapabilities): string[] {
  const { target, resumable = false, noMount = false, force = false, properties = {}, exclude = [] } = request;
  const name = typeof target === "string" ? target : target.full;
  if (typeof target !== "string" && target.kind !== "snapshot") {
    throw new TypeError(`receive ${JSON.stringify(name)}: a bookmark cannot be received into`);
  }
  const argv = ["receive"];
  if (resumable) {
    if (!caps.resumable) throw new ZfsUnsupportedError("resumable receive (zfs receive -s)");
    argv.push("-s");
  }
  if (noMount) {
    if (!caps.recvNoMount) throw new ZfsUnsupportedError("receive without mounting (zfs receive -u)");
    argv.push("-u");
  }
  if (force) argv.push("-F");
  if (exclude.length > 0 && !caps.recvExclude) throw new ZfsUnsupportedError("excluding stream properties in the receive (zfs receive -x)");
  for (const prop of exclude) argv.push("-x", prop);
  const props = Object.entries(properties);
  if (props.length > 0 && !caps.recvProperties) throw new ZfsUnsupportedError("setting properties in the receive (zfs receive -o)");
  for (const [prop, value] of props) argv.push("-o", `${prop}=${value}`);
  argv.push(name);
  return argv;
}

/**
 * Discards the saved state of an interrupted `receive -s` (`zfs receive -A`). Returns false when
 * there was nothing to discard, so callers can call it unconditionally.
 * @throws ZfsUnsupportedError when this zfs cannot resume
 * @throws ZfsError for any other failure
 */
export async function abortResumableReceive(runner: ZfsRunner, dataset: DatasetName, options: ZfsRunOptions = {}): Promise<boolean> {
  if (!(await runner.capabilities()).resumable) throw new ZfsUnsupportedError("aborting a resumable receive (zfs receive -A)");
  try {
    await runner.run(["receive", "-A", dataset], { subject: `abort receive ${JSON.stringify(dataset)}`, ...options });
    return true;
  } catch (error) {
    if (error instanceof ZfsError && error.stderr.includes("does not have any resumable receive state")) return false;
    throw error;
  }
}
