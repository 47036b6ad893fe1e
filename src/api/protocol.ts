/**
 * The zferry endpoints: names, argument schemas and response schemas, shared by the server that
 * implements them and the clients that call them. docs/protocol.md §Endpoints describes the same.
 *
 * Dataset names on the wire are full names on the side that owns them. Snapshot and bookmark
 * arguments are short names (the part after "@"/"#") of the dataset named in the same request, so a
 * request can never reach a snapshot of another dataset (e.g. through `-i`).
 */
import { STATUSES, ValidationError, schema, type ErrorStatus, type Parser } from "../rpc/index.ts";
import {
  COMPRESSION_TYPES,
  ZSTD_MAX_LEVEL,
  ZSTD_MIN_LEVEL,
  parseDatasetName,
  parseVersionShortName,
  type DatasetName,
  type VersionShortName,
  type WireCompression,
} from "../zfs/index.ts";
import { treeColumnsEntry, type TreeColumnsEntry } from "./tree-columns.ts";

export const ENDPOINTS = {
  info: "info",
  listFilesystems: "list_filesystems",
  listVersions: "list_versions",
  listTree: "list_tree",
  estimateSend: "estimate_send",
  send: "send",
  resumeSend: "resume_send",
  listReceived: "list_received",
  receive: "receive",
  snapshot: "snapshot",
  protect: "protect",
  protectBases: "protect_bases",
  prune: "prune",
  pruneDatasets: "prune_datasets",
} as const;

export const SEND_FLAGS = ["raw", "compressed", "large_blocks", "embedded", "properties"] as const;
export type WireSendFlag = (typeof SEND_FLAGS)[number];

const ERROR_STATUSES = STATUSES.filter((s): s is ErrorStatus => s !== "ok");
const dataset: Parser<DatasetName> = schema.checked(parseDatasetName);
const snapshotShort: Parser<VersionShortName> = schema.checked((v) => parseVersionShortName(v, "snapshot"));
const versionKind = schema.literal("snapshot", "bookmark");

/** `{name, kind}`: a snapshot or bookmark of the request's dataset, by its short name. */
export const versionRef: Parser<{ name: VersionShortName; kind: "snapshot" | "bookmark" }> = (v, path) => {
  const ref = schema.object({ name: schema.string({ max: 1024 }), kind: versionKind })(v, path);
  return { name: schema.checked((n) => parseVersionShortName(n, ref.kind))(ref.name, `${path}.name`), kind: ref.kind };
};

/** Wire compression agreed for one stream: the sender compresses, the receiver decompresses. */
export const wireCompression: Parser<WireCompression> = (v, path) => {
  const c = schema.object({ type: schema.literal(...COMPRESSION_TYPES), level: schema.uint, threads: schema.optional(schema.uint) })(v, path);
  if (c.level < ZSTD_MIN_LEVEL || c.level > ZSTD_MAX_LEVEL) throw new ValidationError(`${path}.level`, `expected ${ZSTD_MIN_LEVEL}..${ZSTD_MAX_LEVEL}`);
  if ((c.threads ?? 0) > 256) throw new ValidationError(`${path}.threads`, "expected 0..256");
  return { type: c.type, level: c.level, threads: c.threads ?? 0 };
};

// --- info ---
export const infoResponse = schema.object({
  software: schema.string(),
  identity: schema.string(),
  /** The dataset this identity pushes into, or absent. */
  receive_root: schema.optional(schema.string({ max: 255 })),
  send_flags: schema.array(schema.literal(...SEND_FLAGS), { max: 16 }),
  /** Wire compression the server can run; absent from servers that predate it (none). */
  compression: schema.optional(schema.array(schema.string({ max: 32 }), { max: 16 })),
  /** The server's clock when it answered (Unix seconds): what a `snapshots_changed` it lists later is compared with. */
  time: schema.optional(schema.uint),
  /** list_tree writes versions as column entries when asked (`columns`); absent from servers that predate them. */
  tree_columns: schema.optional(schema.boolean),
  /** The server takes `protect_bases`; absent from servers that predate it, whose clients protect one dataset a call. */
  protect_bases: schema.optional(schema.boolean),
  /** The server takes `prune_datasets`; absent from servers that predate it, whose clients prune one dataset a call. */
  prune_datasets: schema.optional(schema.boolean),
  capabilities: schema.object({
    bookmarks: schema.boolean,
    resumable: schema.boolean,
    send_estimate: schema.boolean,
    raw: schema.boolean,
    compressed: schema.boolean,
    large_blocks: schema.boolean,
    embedded: schema.boolean,
    recv_no_mount: schema.boolean,
  }),
});
export type InfoResponse = ReturnType<typeof infoResponse>;

// --- list_filesystems / list_received ---
export const filesystemEntry = schema.object({
  name: schema.string({ max: 255 }),
  /** OpenZFS receive_resume_token of a partially received dataset (list_received only). */
  resume_token: schema.optional(schema.string({ max: 8192 })),
  /** Created by zferry to keep the tree's shape; holds no replicated data of its own. */
  placeholder: schema.optional(schema.boolean),
});
export const listFilesystemsResponse = schema.object({ filesystems: schema.array(filesystemEntry) });
export type FilesystemEntry = ReturnType<typeof filesystemEntry>;

// --- list_versions ---
export const listVersionsArgs = schema.object({
  dataset,
  /** List receive_root/<dataset> (what this client pushed) instead of the server's own dataset. */
  received: schema.optional(schema.boolean),
});
export const versionEntry = schema.object({
  name: schema.string({ max: 255 }),
  kind: versionKind,
  guid: schema.u64,
  createtxg: schema.u64,
  /** Unix seconds. */
  creation: schema.uint,
});
export type VersionEntry = ReturnType<typeof versionEntry>;
export const listVersionsResponse = schema.object({ versions: schema.array(versionEntry, { max: 1_000_000 }) });

// --- list_tree ---
/** Most datasets one list_tree may name; a client with more lists the whole tree. */
export const MAX_TREE_DATASETS = 10_000;
export const listTreeArgs = schema.object({
  /** List what this client pushed (below receive_root, named as on the client) instead of what it may pull. */
  received: schema.optional(schema.boolean),
  /** false: the filesystems and volumes alone, without their snapshots and bookmarks. */
  versions: schema.optional(schema.boolean),
  /** Only these datasets (each with its versions, none below it); names as in the listing. */
  datasets: schema.optional(schema.array(dataset, { max: MAX_TREE_DATASETS })),
  /** Versions as column entries (tree-columns.ts) instead of one map each; where `info.tree_columns`. */
  columns: schema.optional(schema.boolean),
});
/** A filesystem or volume of a list_tree response; its versions follow it. */
export const treeDatasetEntry = schema.object({
  type: schema.literal("filesystem", "volume"),
  name: schema.string({ max: 255 }),
  /** The dataset's own GUID (it changes when the dataset is destroyed and made again). */
  guid: schema.optional(schema.u64),
  /** OpenZFS 2.2+ `snapshots_changed`, unix seconds. */
  snapshots_changed: schema.optional(schema.uint),
  /** A partial receive's token (received listings only). */
  resume_token: schema.optional(schema.string({ max: 8192 })),
  /** Created by zferry to keep the tree's shape (received listings only). */
  placeholder: schema.optional(schema.boolean),
});
/** A snapshot or bookmark of a list_tree response, of the dataset named before it. */
export const treeVersionEntry = schema.object({
  type: versionKind,
  dataset: schema.string({ max: 255 }),
  name: schema.string({ max: 255 }),
  guid: schema.u64,
  createtxg: schema.u64,
  creation: schema.uint,
  /** Bytes the snapshot refers to; what a full send of it moves, roughly. */
  referenced: schema.optional(schema.approxBytes),
  /** Bytes written since the previous snapshot; what an incremental to it moves, roughly. */
  written: schema.optional(schema.approxBytes),
});
export type TreeDatasetEntry = ReturnType<typeof treeDatasetEntry>;
export type TreeVersionEntry = ReturnType<typeof treeVersionEntry>;
/** Entries per record of a list_tree body; a record stays far below MAX_RECORD_BYTES. */
export const TREE_RECORD_ENTRIES = 512;
/** One record of a list_tree body: an array of entries. */
export const treeRecord = schema.array((v, path): TreeDatasetEntry | TreeVersionEntry | TreeColumnsEntry => {
  const type = (v as { type?: unknown } | null)?.type;
  if (type === "versions") return treeColumnsEntry(v, path);
  return type === "snapshot" || type === "bookmark" ? treeVersionEntry(v, path) : treeDatasetEntry(v, path);
}, { max: TREE_RECORD_ENTRIES });

// --- send / estimate_send ---
export const sendArgs = schema.object({
  dataset,
  to: snapshotShort,
  /** Expected GUID of `to`: the send is refused (conflict) if the snapshot was replaced meanwhile. */
  to_guid: schema.optional(schema.u64),
  from: schema.optional(versionRef),
  from_guid: schema.optional(schema.u64),
  /** `-I`: include the snapshots between `from` and `to`. */
  intermediates: schema.optional(schema.boolean),
  flags: schema.optional(schema.array(schema.literal(...SEND_FLAGS), { max: 8 })),
  /** Compress the stream on the wire; the server refuses (unsupported) what it cannot run. */
  compression: schema.optional(wireCompression),
  /** Pace the stream to at most this many wire bytes per second. */
  bandwidth_limit: schema.optional(schema.uint),
});
export type SendArgs = ReturnType<typeof sendArgs>;
export const estimateResponse = schema.object({ bytes: schema.optional(schema.u64) });

// --- resume_send ---
export const resumeSendArgs = schema.object({
  token: schema.string({ min: 1, max: 8192 }),
  flags: schema.optional(schema.array(schema.literal(...SEND_FLAGS), { max: 8 })),
  compression: schema.optional(wireCompression),
  bandwidth_limit: schema.optional(schema.uint),
});

// --- list_received (push side) ---
export const listReceivedArgs = schema.none;

// --- receive (push) ---
export const receiveArgs = schema.object({
  /** The dataset's name on the client; it lands at receive_root/<dataset>. */
  dataset,
  snapshot: snapshotShort,
  /** Incremental base: must be the newest snapshot of the target; absent for a full stream. */
  from_guid: schema.optional(schema.u64),
  /** Ask for `zfs recv -s` where the server's zfs has it. */
  resumable: schema.optional(schema.boolean),
  /** The body is compressed so: the server decompresses it before `zfs recv`. */
  compression: schema.optional(wireCompression),
});
export type ReceiveArgs = ReturnType<typeof receiveArgs>;
export const receiveResponse = schema.object({ target: schema.string({ max: 255 }), guid: schema.optional(schema.u64) });

// --- snapshot / protect / prune (the backup cycle) ---
export const snapshotArgs = schema.object({
  /** Every dataset to snapshot; never recursive, so a child the ACL excludes is never touched. */
  datasets: schema.array(dataset, { max: 100_000 }),
  /** `<prefix><yyyymmddThhmmssZ>` with the identity's granted prefix. */
  name: snapshotShort,
});
export const snapshotResponse = schema.object({ created: schema.array(schema.string({ max: 512 }), { max: 100_000 }) });

export const protectArgs = schema.object({
  dataset,
  /** The snapshot that is now the incremental base; the identity's hold moves onto it. */
  snapshot: snapshotShort,
  /** receive_root/<dataset> (push) instead of the server's own dataset. */
  received: schema.optional(schema.boolean),
});
export const protectResponse = schema.object({
  held: schema.string({ max: 512 }),
  released: schema.array(schema.string({ max: 512 }), { max: 1_000_000 }),
  /** The identity's bookmark cursor on the base (OpenZFS only): `zferry_<identity>_<snapshot>`. */
  cursor: schema.optional(schema.string({ max: 512 })),
});

/** Why one dataset of a call for many failed: the status and message a call for it alone would have answered. */
const datasetError = schema.object({ status: schema.literal(...ERROR_STATUSES), message: schema.string({ max: 4096 }) });

/** Most bases one `protect_bases` may name; a client with more makes several calls. */
export const MAX_PROTECT_BASES = 10_000;
export const protectBasesArgs = schema.object({
  /** Each dataset at most once, with the snapshot that is now its incremental base. */
  bases: schema.array(schema.object({ dataset, snapshot: snapshotShort }), { max: MAX_PROTECT_BASES }),
  /** receive_root/<dataset> (push) instead of the server's own datasets. */
  received: schema.optional(schema.boolean),
});
export type ProtectBasesArgs = ReturnType<typeof protectBasesArgs>;
/** One base's outcome: `held` (and `cursor`, as for `protect`) where it was protected, else `error`. */
export const protectedBase = schema.object({
  dataset: schema.string({ max: 255 }),
  held: schema.optional(schema.string({ max: 512 })),
  cursor: schema.optional(schema.string({ max: 512 })),
  error: schema.optional(datasetError),
});
export type ProtectedBase = ReturnType<typeof protectedBase>;
export const protectBasesResponse = schema.object({ results: schema.array(protectedBase, { max: MAX_PROTECT_BASES }) });

export const pruneArgs = schema.object({
  dataset,
  snapshots: schema.array(snapshotShort, { max: 1_000_000 }),
  received: schema.optional(schema.boolean),
});
const destroyedNames = schema.array(schema.string({ max: 255 }), { max: 1_000_000 });
/** Asked for but kept, and why ("held", "not found"). */
const keptNames = schema.array(schema.object({ name: schema.string({ max: 255 }), reason: schema.string({ max: 200 }) }), { max: 1_000_000 });
export const pruneResponse = schema.object({ destroyed: destroyedNames, kept: keptNames });

/** Most datasets one `prune_datasets` may name; a client with more makes several calls. */
export const MAX_PRUNE_DATASETS = 10_000;
export const pruneDatasetsArgs = schema.object({
  /** Each dataset at most once, with the snapshots its rules chose. */
  datasets: schema.array(schema.object({ dataset, snapshots: schema.array(snapshotShort, { max: 1_000_000 }) }), { max: MAX_PRUNE_DATASETS }),
  received: schema.optional(schema.boolean),
});
/** One dataset's outcome: `destroyed` and `kept`, as `prune` answers them, where it was pruned, else `error`. */
export const prunedDataset = schema.object({
  dataset: schema.string({ max: 255 }),
  destroyed: schema.optional(destroyedNames),
  kept: schema.optional(keptNames),
  error: schema.optional(datasetError),
});
export type PrunedDataset = ReturnType<typeof prunedDataset>;
export const pruneDatasetsResponse = schema.object({ results: schema.array(prunedDataset, { max: MAX_PRUNE_DATASETS }) });
