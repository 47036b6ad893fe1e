/**
 * The zfs layer: runs the `zfs` binary, builds its argv and parses its output into typed values
 * (checked names, bigint guids). It is the only code that spawns zfs.
 *
 * It must not: know about RPC, frames, endpoints or ACLs (the server decides what may be listed or
 * sent); read config (the binary path comes in as `bin`/`ZfsRunner`); touch stdout (it is the wire
 * in stdinserver); or take raw strings where a name is meant — names are checked once by
 * `names.ts` and travel as `DatasetName` / `VersionName` from there on.
 */
export * from "./names.ts";
export { MAX_STDERR_BYTES, ZfsError, ZfsNotFoundError, ZfsUnsupportedError, describeArgv, zfsExitError } from "./errors.ts";
export { DEFAULT_ZFS_BIN, runZfs, runZfsCapture, type RunZfsOptions, type ZfsOutput } from "./run.ts";
export { ZfsRunner, type ZfsRunOptions } from "./runner.ts";
export { detectCapabilities, type ZfsCapabilities } from "./capabilities.ts";
export { datasetExists, getResumeToken, listFilesystems, listHeldVersions, listHeldVersionsOf, listTree, listVersions, type HeldVersion, type TreeEntry, type ZfsVersion } from "./list.ts";
export { estimateSendSize, resumeSendArgv, sendArgv, type SendFlags, type SendRequest } from "./send.ts";
export { checkToken, decodeResumeToken, type ResumeTokenInfo } from "./resume-token.ts";
export { abortResumableReceive, recvArgv, type RecvRequest } from "./recv.ts";
export { startZfsRecv, startZfsSend, zfsChildError, type ZfsChildResult, type ZfsRecvProcess, type ZfsSendProcess } from "./stream-process.ts";
export { PLACEHOLDER_PROPERTY, createPlaceholder, isPlaceholder, removePlaceholders } from "./placeholder.ts";
export { interner } from "./_tree-record.ts";
export { getProperties, inheritProperty, setProperties, type PropertyValue } from "./properties.ts";
export { canPeekPipes, startHeldSend, type HeldSend, type SendHead } from "./send-head.ts";
export { startSendStream, type ZfsSendStream } from "./send-stream.ts";
export {
  CONFINED_POLICY,
  CONFINEMENT_PROPERTIES,
  FORCED_PROPERTIES,
  INHERITED_PROPERTIES,
  KEEPABLE_PROPERTIES,
  StreamRefusedError,
  checkStreamHead,
  confineReceived,
  isConfined,
  confinementArgs,
  needsExclude,
  confinedReceive,
  type ConfinedReceive,
  mountpointForChildOf,
  type KeepableProperty,
  type ReceivePolicy,
} from "./confine.ts";
export { DMU_BACKUP_MAGIC, STREAM_HEADER_BYTES, decodeFirstSubstream, decodeStreamHeader, firstSubstreamEnd, type StreamHeader } from "./stream-header.ts";
export { readTree, scanTree, type ScanTreeOptions, type TreeDataset, type TreeNode, type TreeRecord, type TreeVersion } from "./tree-listing.ts";
export { runZfsLines } from "./run-lines.ts";
export { LITTLE_ENDIAN, joinColumns, PackedVersions, rowAt, sliceColumns, VersionColumnsBuilder, VersionTable, type VersionColumns, type VersionList, type VersionRow, type VersionView } from "./packed-versions.ts";
export {
  COMPRESSION_TYPES,
  ZSTD_DEFAULT_LEVEL,
  ZSTD_MAX_LEVEL,
  ZSTD_MIN_LEVEL,
  availableCompression,
  type WireCompression,
} from "./compressor.ts";
export { decompressedRecvError, startDecompressedRecv, type DecompressedRecv, type DecompressedRecvResult } from "./recv-stream.ts";
export { holdCounts, holdTag, placeHold, placeHolds, releaseHold, releaseHolds } from "./holds.ts";
export { createSnapshots, destroySnapshots } from "./snapshots.ts";
export { cursorName, cursorPrefix, moveCursor } from "./cursor.ts";
