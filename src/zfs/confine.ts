/**
 * Confinement: what both receiving sides (pull's target, the server's receive_root) leave a
 * received dataset as, whatever its stream says. A stream that carries properties (`zfs send -p`)
 * would otherwise decide where it is mounted and what may run from it: `mountpoint=/etc/cron.d`,
 * `setuid=on` (openzfs/zfs#12218). So every received dataset gets:
 *
 *   - mountpoint, sharenfs, sharesmb: the stream's value never wins; they are inherited from the
 *     receiving root's tree;
 *   - setuid=off, devices=off, exec=off, readonly=on, set on the dataset itself (a local value
 *     beats a received one);
 *   - no mount by the receive itself (`zfs receive -u` where zfs has it).
 *
 * The receiving side's policy may keep some of these from the stream (never readonly, which
 * zferry relies on: a mounted writable target blocks the next incremental receive on zfs-fuse).
 *
 * Where zfs can do it in the receive (`-x`, `-o`, `-u`: OpenZFS), `confinementArgs` goes into its
 * argv and the receive is confined atomically. Elsewhere (zfs-fuse) zferry refuses property
 * streams unless the policy allows them (see `checkStreamHead`), and `confineReceived` sets what
 * the receive could not, right after it.
 */
import type { DatasetName } from "./names.ts";
import { PLACEHOLDER_PROPERTY } from "./placeholder.ts";
import { getProperties, inheritProperty, setProperties } from "./properties.ts";
import { recvArgv, type RecvRequest } from "./recv.ts";
import type { ZfsCapabilities } from "./capabilities.ts";
import type { ZfsRunner } from "./runner.ts";
import { decodeStreamHeader, type StreamHeader } from "./stream-header.ts";

/** Properties whose received value is dropped: the dataset inherits them from its parent. */
export const INHERITED_PROPERTIES = Object.freeze(["mountpoint", "sharenfs", "sharesmb"] as const);
/** Properties forced to a safe value on the dataset itself. */
export const FORCED_PROPERTIES: Readonly<Record<"setuid" | "devices" | "exec" | "readonly", string>> = Object.freeze({
  setuid: "off",
  devices: "off",
  exec: "off",
  readonly: "on",
});

/** A confined property a policy may keep from the stream instead. */
export type KeepableProperty = (typeof INHERITED_PROPERTIES)[number] | "setuid" | "devices" | "exec";
export const KEEPABLE_PROPERTIES: readonly KeepableProperty[] = Object.freeze([...INHERITED_PROPERTIES, "setuid", "devices", "exec"]);

/** What a receiving side accepts from streams. */
export interface ReceivePolicy {
  /**
   * Accept streams that carry properties where zfs cannot keep them out of the receive (no
   * `zfs receive -x`). Such a receive applies them, and zferry confines the dataset after it.
   */
  readonly properties: boolean;
  /** Confined properties whose value the stream may set. */
  readonly keep: readonly KeepableProperty[];
}

export const CONFINED_POLICY: ReceivePolicy = Object.freeze({ properties: false, keep: Object.freeze([]) });

/** A stream refused from its first record; nothing of it reached `zfs receive`. */
export class StreamRefusedError extends Error {
  override name = "StreamRefusedError";
}

/**
 * `-x` and `-o` for a receive that confines the dataset itself (needs `recvExclude` and
 * `recvProperties`). A former placeholder also stops being one.
 */
export function confinementArgs(policy: ReceivePolicy, options: { wasPlaceholder: boolean }): { exclude: string[]; properties: Record<string, string> } {
  const keep = new Set<string>(policy.keep);
  const exclude = INHERITED_PROPERTIES.filter((p) => !keep.has(p));
  const properties: Record<string, string> = {};
  for (const [p, value] of Object.entries(FORCED_PROPERTIES)) if (!keep.has(p)) properties[p] = value;
  if (options.wasPlaceholder) properties[PLACEHOLDER_PROPERTY] = "off";
  return { exclude, properties };
}

/**
 * Whether the receive of a stream with this first record needs the `-x` half of
 * `confinementArgs`. `-x` keeps the stream's values of properties out, and only a package
 * (`zfs send -p`, `-R`) carries any; a substream carries none. A full substream into a dataset
 * that does not exist yet therefore leaves nothing for `-x` to do: the new dataset inherits those
 * properties either way (checked on OpenZFS 2.3: the same values and sources). OpenZFS spends
 * a dataset open on `-x`, 17% of a small filesystem's receive in the test guest, so the initial
 * receive of a wide tree leaves it out. Everything else keeps it: a placeholder or an existing
 * target has values of its own, and a record that cannot be read decides nothing.
 */
export function needsExclude(header: StreamHeader | null, receive: { createsDataset: boolean }): boolean {
  return !(receive.createsDataset && header?.kind === "substream" && header.fromguid === 0n);
}

/** The argv of a receive that confines the dataset itself, before and after its first record. */
export interface ConfinedReceive {
  /** With `-x` and the `-o` values: for any stream. */
  readonly whole: string[];
  /** Without `-x` where the receive creates a dataset (for a substream), else `whole` itself. */
  readonly lean: string[];
  /** `lean` where needsExclude says a stream with this first record can go without `-x`, else `whole`. */
  forHeader(header: StreamHeader | null): string[];
}

/**
 * Both argvs of a receive confined by zfs itself (needs `recvExclude` and `recvProperties`).
 * @throws ZfsUnsupportedError for a flag in `request` this zfs lacks
 */
export function confinedReceive(
  request: Omit<RecvRequest, "exclude" | "properties">,
  options: { policy: ReceivePolicy; wasPlaceholder: boolean; createsDataset: boolean },
  caps: ZfsCapabilities,
): ConfinedReceive {
  const { exclude, properties } = confinementArgs(options.policy, { wasPlaceholder: options.wasPlaceholder });
  const whole = recvArgv({ ...request, exclude, properties }, caps);
  const lean = options.createsDataset ? recvArgv({ ...request, properties }, caps) : whole;
  return { whole, lean, forHeader: (header) => (needsExclude(header, options) ? whole : lean) };
}

/**
 * Confines a received dataset after the receive: inherits what must not come from the stream and
 * sets the forced values where they are not already set on the dataset. One `zfs get`, then a
 * `zfs inherit` or `zfs set` only for what differs, so a confined target costs one process.
 * @throws ZfsError when zfs fails
 */
export async function confineReceived(runner: ZfsRunner, target: DatasetName, options: { policy: ReceivePolicy; wasPlaceholder: boolean }): Promise<void> {
  const { policy, wasPlaceholder } = options;
  const keep = new Set<string>(policy.keep);
  const inherit = INHERITED_PROPERTIES.filter((p) => !keep.has(p));
  const forced = Object.entries(FORCED_PROPERTIES).filter(([p]) => !keep.has(p));
  const props = await getProperties(runner, target, { properties: [...inherit, ...forced.map(([p]) => p), PLACEHOLDER_PROPERTY] });
  for (const p of inherit) {
    // A local "none" is a former placeholder's: it mounts nothing and stays.
    const { value, source } = props.get(p)!;
    if (source === "received" || (source === "local" && value !== "none")) await inheritProperty(runner, target, p);
  }
  const values: Record<string, string> = {};
  // zfs-fuse reports readonly "off (temporary)" after remounting a received dataset: set it again.
  for (const [p, value] of forced) if (props.get(p)?.value !== value || props.get(p)?.source !== "local") values[p] = value;
  if (wasPlaceholder && props.get(PLACEHOLDER_PROPERTY)?.source === "local") values[PLACEHOLDER_PROPERTY] = "off";
  if (Object.keys(values).length > 0) await setProperties(runner, target, { values });
}

/** The properties `confineReceived` reads, to ask for in a listing. */
export const CONFINEMENT_PROPERTIES: readonly string[] = Object.freeze([...INHERITED_PROPERTIES, ...Object.keys(FORCED_PROPERTIES)]);

/**
 * Whether a dataset with these properties (name → value and source, as `zfs get` prints them) is
 * already what `confineReceived` would leave it as, so that it would change nothing.
 */
export function isConfined(props: ReadonlyMap<string, { value: string; source: string }>, policy: ReceivePolicy): boolean {
  const keep = new Set<string>(policy.keep);
  for (const p of INHERITED_PROPERTIES) {
    if (keep.has(p)) continue;
    const got = props.get(p);
    if (!got || got.source === "received" || (got.source === "local" && got.value !== "none")) return false;
  }
  for (const [p, value] of Object.entries(FORCED_PROPERTIES)) {
    if (keep.has(p)) continue;
    const got = props.get(p);
    if (got?.value !== value || got.source !== "local") return false;
  }
  return props.get(PLACEHOLDER_PROPERTY)?.source !== "local";
}

/**
 * Where a new child of `parent` would be mounted, or null when nowhere (mountpoint none or
 * legacy). A zfs without `zfs receive -u` (zfs-fuse) mounts what it receives there.
 * @throws ZfsError when zfs fails
 */
export async function mountpointForChildOf(runner: ZfsRunner, parent: DatasetName): Promise<string | null> {
  const { value } = (await getProperties(runner, parent, { properties: ["mountpoint"] })).get("mountpoint")!;
  return value === "none" || value === "legacy" ? null : value;
}

/**
 * Checks a stream's first record before anything reaches a `zfs receive` that cannot confine it:
 * it must be a BEGIN record, and a compound stream (properties) needs `policy.properties`. Only
 * the record is read, not the nvlist after it, so every compound stream counts as carrying
 * properties: zfs-fuse writes one for -I too.
 * @param options.subject the receive, e.g. `receive "tank/b/x@s1"`
 * @param options.allowHint where the policy is configured, for the message
 * @throws StreamRefusedError saying why
 */
export function checkStreamHead(head: Uint8Array, options: { policy: ReceivePolicy; subject: string; allowHint: string }): StreamHeader {
  let header: StreamHeader;
  try {
    [header] = decodeStreamHeader(head);
  } catch (err) {
    throw new StreamRefusedError(`${options.subject}: refused the stream: ${(err as Error).message}`, { cause: err });
  }
  if (header.kind === "compound" && !options.policy.properties) {
    throw new StreamRefusedError(
      `${options.subject}: refused the stream: it carries properties (a compound stream, as zfs send -p and -R write, and -I on old zfs), ` +
        `which this zfs cannot keep out of the receive (no "zfs receive -x"), so they would decide where it is mounted; to accept them, set ${options.allowHint}`,
    );
  }
  return header;
}
