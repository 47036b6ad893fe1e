/**
 * Entry point of the fake OpenZFS 2.2 `zfs` (run through the `zfs` sh wrapper beside it).
 *
 * Environment:
 * - FAKE_ZFS_STATE       state file (state.ts; required by every command that touches datasets)
 * - FAKE_ZFS_LOG         append each invocation's argv as one JSON array per line
 * - FAKE_ZFS_FED_LOG     `receive` appends its target once its stream's first bytes arrived
 * - FAKE_ZFS_SEND_BYTES  payload bytes of snapshots created from now on (default 64 KiB)
 * - FAKE_ZFS_FAIL_AFTER  `send` writes this many stream bytes, then fails with exit 1
 * - FAKE_ZFS_NOW         fixed unix time for `creation`
 */
import { appendFileSync } from "node:fs";
import { Exit, err, out } from "./_exit.ts";
import { cmdBookmark, cmdCreate, cmdDestroy, cmdSet, cmdInherit, cmdSnapshot } from "./cmd-admin.ts";
import { cmdGet, cmdList } from "./cmd-list.ts";
import { cmdHold, cmdHolds, cmdRelease } from "./cmd-holds.ts";
import { cmdReceive } from "./cmd-recv.ts";
import { cmdSend } from "./cmd-send.ts";
import { isCommand, usage } from "./usage.ts";

const ALIASES: Record<string, string> = { recv: "receive", snap: "snapshot", umount: "unmount" };
const IMPLEMENTED: Record<string, (args: string[]) => number> = {
  list: cmdList,
  get: cmdGet,
  set: cmdSet,
  inherit: cmdInherit,
  create: cmdCreate,
  destroy: cmdDestroy,
  snapshot: cmdSnapshot,
  bookmark: cmdBookmark,
  send: cmdSend,
  receive: cmdReceive,
  hold: cmdHold,
  release: cmdRelease,
  holds: cmdHolds,
};

function main(argv: string[]): number {
  if (process.env.FAKE_ZFS_LOG) appendFileSync(process.env.FAKE_ZFS_LOG, `${JSON.stringify(argv)}\n`);
  if (argv.length === 0) {
    err("missing command\n");
    usage(null);
  }
  const name = ALIASES[argv[0]!] ?? argv[0]!;
  if (name === "-?" || name === "--help") usage(null, true);
  if (name === "-V" || name === "--version" || name === "version") {
    out("zfs-2.2.2-1\nzfs-kmod-2.2.2-1\n");
    return 0;
  }
  const command = IMPLEMENTED[name];
  if (command) return command(argv.slice(1));
  if (isCommand(name)) {
    err(`fake zfs: '${name}' is not implemented\n`);
    return 2;
  }
  err(`unrecognized command '${name}'\n`);
  usage(null);
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  if (error instanceof Exit) process.exitCode = error.code;
  else {
    err(`fake zfs: internal error: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 99;
  }
}
