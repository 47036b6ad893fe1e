import { describe, expect, test } from "bun:test";
import { parseCapabilities } from "./capabilities.ts";
import { ZFS_FUSE_CAPABILITIES } from "../../test/helpers/zfs-fuse-capabilities.ts";

// Captured from Debian's zfs-fuse 0.7 (pool v23): `zfs`, `zfs send`, `zfs receive`, `zfs list -?`.
const ZFS_FUSE = {
  main:
    "missing command\nusage: zfs command args ...\nwhere 'command' is one of the following:\n\n" +
    "\tcreate [-p] [-o property=value] ... <filesystem>\n\tsnapshot [-r] [-o property=value] ... <filesystem@snapname|volume@snapname>\n" +
    "\tlist [-rH][-d max] [-o property[,...]] [-t type[,...]] [-s property] ...\n" +
    "\tsend [-RDp] [-[iI] snapshot] <snapshot>\n\treceive [-vnF] <filesystem|volume|snapshot>\n\treceive [-vnF] -d <filesystem>\n" +
    "\thold [-r] <tag> <snapshot> ...\n",
  send: "missing snapshot argument\nusage:\n\tsend [-RDp] [-[iI] snapshot] <snapshot>\n\nFor the property list, run: zfs set|get\n",
  receive: "missing snapshot argument\nusage:\n\treceive [-vnF] <filesystem|volume|snapshot>\n\treceive [-vnF] -d <filesystem>\n",
  list: "invalid option '?'\nusage:\n\tlist [-rH][-d max] [-o property[,...]] [-t type[,...]] [-s property] ...\n\t    [-S property] ... [filesystem|volume|snapshot] ...\n",
};

// OpenZFS 2.0 (cmd/zfs/zfs_main.c get_usage), whose `-[i|I]` spelling differs from 2.2's `-i|-I`.
const OPENZFS_2_0 = {
  main: "usage: zfs command args ...\n\tbookmark <snapshot|bookmark> <newbookmark>\n",
  send:
    "usage:\n\tsend [-DnPpRvLecwhb] [-[i|I] snapshot] <snapshot>\n\tsend [-DnvPLecw] [-i snapshot|bookmark] <filesystem|volume|snapshot>\n" +
    "\tsend [-DnPpvLec] [-i bookmark|snapshot] --redact <bookmark> <snapshot>\n\tsend [-nvPe] -t <receive_resume_token>\n\tsend [-Pnv] --saved filesystem\n",
  receive:
    "usage:\n\treceive [-vMnsFhu] [-o <property>=<value>] ... [-x <property>] ...\n\t    <filesystem|volume|snapshot>\n" +
    "\treceive -A <filesystem|volume>\n",
  list: "usage:\n\tlist [-Hp] [-r|-d max] [-o property[,...]] [-s property]...\n",
};

describe("parseCapabilities", () => {
  test("zfs-fuse has -p and -I but none of the OpenZFS features", () => {
    expect(parseCapabilities(ZFS_FUSE)).toEqual(ZFS_FUSE_CAPABILITIES);
  });

  test("OpenZFS 2.0 has everything", () => {
    expect(Object.values(parseCapabilities(OPENZFS_2_0)).every(Boolean)).toBe(true);
  });

  test("a receive with -o but without -x cannot exclude stream properties", () => {
    const receive = "usage:\n\treceive [-vnFu] [-o <property>=<value>] ... <filesystem|volume|snapshot>\n";
    expect(parseCapabilities({ ...OPENZFS_2_0, receive })).toMatchObject({ recvProperties: true, recvExclude: false, recvNoMount: true });
  });

  test("receive -s without send -t is not resumable", () => {
    const caps = parseCapabilities({ ...OPENZFS_2_0, send: OPENZFS_2_0.send.replace(/\tsend \[-nvPe\] -t.*\n/, "") });
    expect(caps.resumable).toBe(false);
    expect(caps.raw).toBe(true);
  });
});
