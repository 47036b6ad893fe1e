/**
 * The first record of a `zfs send` stream: the BEGIN `dmu_replay_record` (OpenZFS
 * `include/sys/zfs_ioctl.h`). A receiving side reads it before anything reaches `zfs receive`, to
 * learn what the stream is without trusting the sender's request: above all whether it is a
 * compound stream (`zfs send -p`, `-R`), whose BEGIN record is followed by an nvlist of dataset
 * properties, or a plain substream of one snapshot.
 *
 *     offset  size  field
 *          0     4  drr_type          0 = DRR_BEGIN
 *          4     4  drr_payloadlen    bytes after this record (the nvlist of a compound stream)
 *          8     8  drr_magic         DMU_BACKUP_MAGIC; read byte-swapped when the sender's byte order differs
 *         16     8  drr_versioninfo   bits 0–1 the header type (1 substream, 2 compound), bits 2–31 feature flags
 *         24     8  drr_creation_time
 *         32     4  drr_type (objset) 2 = filesystem, 3 = volume
 *         36     4  drr_flags
 *         40     8  drr_toguid
 *         48     8  drr_fromguid      0 for a full stream
 *         56   256  drr_toname        NUL-terminated "pool/fs@snap"
 *
 * Every field is in the sender's byte order, which the magic reveals.
 */

/** sizeof(dmu_replay_record_t): the BEGIN record is this long, whatever follows it. */
export const STREAM_HEADER_BYTES = 312;

/** DMU_BACKUP_MAGIC */
export const DMU_BACKUP_MAGIC = 0x2f5bacbacn;

/** DMU_SUBSTREAM and DMU_COMPOUNDSTREAM, the values of DMU_GET_STREAM_HDRTYPE. */
export const HEADER_TYPE = Object.freeze({ substream: 1, compound: 2 });

const DRR_BEGIN = 0;
const DRR_END = 5;
const TONAME_OFFSET = 56;
const MAXNAMELEN = 256;

export interface StreamHeader {
  /** "substream": one snapshot, no properties; "compound": a package with a properties nvlist. */
  readonly kind: "substream" | "compound";
  /** The sender's byte order. */
  readonly littleEndian: boolean;
  /** DMU_GET_FEATUREFLAGS(drr_versioninfo). */
  readonly features: number;
  /** Bytes of payload after the record (the compound stream's nvlist). */
  readonly payloadBytes: number;
  readonly creation: bigint;
  readonly toguid: bigint;
  /** 0n for a full stream. */
  readonly fromguid: bigint;
  /** The snapshot's name on the sending side. */
  readonly toname: string;
}

/**
 * Decodes the BEGIN record at `offset` of `bytes`.
 * @returns the header and the offset just after the record
 * @throws RangeError when fewer than STREAM_HEADER_BYTES bytes are there
 * @throws TypeError when the bytes are not a BEGIN record (wrong magic, record type or header type)
 */
export function decodeStreamHeader(bytes: Uint8Array, offset = 0): [StreamHeader, number] {
  if (bytes.length - offset < STREAM_HEADER_BYTES) {
    throw new RangeError(`A zfs send stream starts with a ${STREAM_HEADER_BYTES}-byte BEGIN record, got ${Math.max(0, bytes.length - offset)} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, STREAM_HEADER_BYTES);
  const magic = view.getBigUint64(8, true);
  let littleEndian: boolean;
  if (magic === DMU_BACKUP_MAGIC) littleEndian = true;
  else if (view.getBigUint64(8, false) === DMU_BACKUP_MAGIC) littleEndian = false;
  else throw new TypeError(`Not a zfs send stream: bad magic 0x${magic.toString(16).padStart(16, "0")} in the first record`);
  const recordType = view.getUint32(0, littleEndian);
  if (recordType !== DRR_BEGIN) throw new TypeError(`Not a zfs send stream: its first record has type ${recordType}, not BEGIN (0)`);
  const versioninfo = view.getBigUint64(16, littleEndian);
  const hdrtype = Number(versioninfo & 0x3n);
  const kind = hdrtype === HEADER_TYPE.substream ? "substream" : hdrtype === HEADER_TYPE.compound ? "compound" : null;
  if (kind === null) throw new TypeError(`Not a zfs send stream: unknown header type ${hdrtype} in its BEGIN record`);
  const name = bytes.subarray(offset + TONAME_OFFSET, offset + TONAME_OFFSET + MAXNAMELEN);
  const nul = name.indexOf(0);
  const header: StreamHeader = {
    kind,
    littleEndian,
    features: Number((versioninfo >> 2n) & 0x3fffffffn),
    payloadBytes: view.getUint32(4, littleEndian),
    creation: view.getBigUint64(24, littleEndian),
    toguid: view.getBigUint64(40, littleEndian),
    fromguid: view.getBigUint64(48, littleEndian),
    toname: new TextDecoder().decode(nul < 0 ? name : name.subarray(0, nul)),
  };
  return [header, offset + STREAM_HEADER_BYTES];
}

/**
 * How many bytes of a stream that starts with `first` hold its first substream's BEGIN record: a
 * substream starts with it; a compound stream (a package: `zfs send -I`, `-p`, `-R`) has its own
 * BEGIN, `payloadBytes` of nvlist and an END record before it.
 */
export function firstSubstreamEnd(first: StreamHeader): number {
  return first.kind === "substream" ? STREAM_HEADER_BYTES : 3 * STREAM_HEADER_BYTES + first.payloadBytes;
}

/**
 * The BEGIN record of a stream's first substream, whose GUIDs say what the stream holds: the
 * snapshot (`toguid`) and its incremental source (`fromguid`, 0 for a full stream). A package's
 * own BEGIN names neither. `bytes` are the stream's first `firstSubstreamEnd` bytes at least.
 * @throws RangeError when fewer bytes are given
 * @throws TypeError when they are not a stream, or a package is not followed by END and a substream
 */
export function decodeFirstSubstream(bytes: Uint8Array): StreamHeader {
  const [first] = decodeStreamHeader(bytes);
  if (first.kind === "substream") return first;
  const end = STREAM_HEADER_BYTES + first.payloadBytes;
  if (bytes.length < end + 2 * STREAM_HEADER_BYTES) {
    throw new RangeError(`A compound zfs send stream's first substream ends at byte ${end + 2 * STREAM_HEADER_BYTES}, got ${bytes.length} bytes`);
  }
  const endType = new DataView(bytes.buffer, bytes.byteOffset + end, 4).getUint32(0, first.littleEndian);
  if (endType !== DRR_END) throw new TypeError(`Not a zfs send stream: its package is followed by a record of type ${endType}, not END (${DRR_END})`);
  const [sub] = decodeStreamHeader(bytes, end + STREAM_HEADER_BYTES);
  if (sub.kind !== "substream") throw new TypeError("Not a zfs send stream: its package is followed by another package, not a substream");
  return sub;
}
