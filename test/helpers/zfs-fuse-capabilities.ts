import type { ZfsCapabilities } from "../../src/zfs/index.ts";

/** What zferry must detect on Debian's zfs-fuse (pool v23): -p and -I, none of the OpenZFS features. */
export const ZFS_FUSE_CAPABILITIES: ZfsCapabilities = {
  listParsable: false,
  bookmarks: false,
  sendEstimate: false,
  resumable: false,
  raw: false,
  compressed: false,
  largeBlocks: false,
  embedded: false,
  properties: true,
  recvNoMount: false,
  recvProperties: false,
  recvExclude: false,
  intermediates: true,
};
