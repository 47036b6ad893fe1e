/**
 * `zfs send`: full, `-i`, `-I`, `-t TOKEN`, and the dry runs `-nP` / `-nv` / `-nvt`, following
 * zfs_do_send (zfs_main.c) and zfs_send_one / zfs_send_resume (libzfs_sendrecv.c). The stream is
 * the fake format of stream.ts. FAKE_ZFS_FAIL_AFTER=N stops after N stream bytes with the error a
 * failing pool gives ("Input/output error") and exit 1.
 */
import { isatty } from "node:tty";
import { err, fail, out } from "./_exit.ts";
import { getopt } from "./_getopt.ts";
import { envSendBytes, sendBytes } from "./cmd-admin.ts";
import { nicenum } from "./props.ts";
import { tokenFields } from "./resume.ts";
import { loadState, snapshotsOf, type FakeDataset, type FakeState, type FakeVersion, type StreamFlags } from "./state.ts";
import { FailAfter, StreamWriter, recordSize, type RecordHeader } from "./stream.ts";
import { TokenError, decodeToken, printNvlist } from "./token.ts";
import { usage, usageError } from "./usage.ts";

const LONG_OPTIONS: Record<string, string> = {
  replicate: "R", "skip-missing": "s", redact: "d", props: "p", parsable: "P", dedup: "D", verbose: "v", dryrun: "n",
  "large-block": "L", embed: "e", resume: "t", compressed: "c", raw: "w", backup: "b", holds: "h", saved: "S",
};

interface SendOptions {
  from?: string;
  doall: boolean;
  token?: string;
  dryrun: boolean;
  parsable: boolean;
  verbosity: number;
  flags: StreamFlags;
}

export function cmdSend(args: string[]): number {
  const r = getopt(args, ":i:I:RsDpvnPLeht:cwbd:S", LONG_OPTIONS);
  if (!r.ok) usageError("send", r.message);
  const o: SendOptions = { doall: false, dryrun: false, parsable: false, verbosity: 0, flags: {} };
  let unsupported: string | undefined;
  for (const { opt, arg } of r.opts) {
    if (opt === "i" || opt === "I") {
      if (o.from !== undefined) usage("send");
      o.from = arg;
      o.doall ||= opt === "I";
    } else if (opt === "t") o.token = arg;
    else if (opt === "n") o.dryrun = true;
    else if (opt === "P") o.parsable = true;
    else if (opt === "v") o.verbosity++;
    else if (opt === "p") o.flags.props = true;
    else if (opt === "c") o.flags.compressed = true;
    else if (opt === "L") o.flags.largeBlocks = true;
    else if (opt === "e") o.flags.embedded = true;
    else if (opt === "w") o.flags = { ...o.flags, raw: true, compressed: true, embedded: true, largeBlocks: true };
    else if (opt === "D") err("WARNING: deduplicated send is no longer supported.  A regular,\nnon-deduplicated stream will be generated.\n\n");
    else if (opt === "R" || opt === "S" || opt === "d") unsupported = `-${opt}`;
  }
  if (o.parsable && o.verbosity === 0) o.verbosity = 1;
  if (o.token !== undefined) {
    if (o.from !== undefined || o.flags.props || unsupported) usageError("send", "invalid flags combined with -t");
    if (r.rest.length > 0) usageError("send", "too many arguments");
  } else {
    if (r.rest.length < 1) usageError("send", "missing snapshot argument");
    if (r.rest.length > 1) usageError("send", "too many arguments");
  }
  if (unsupported) fail(2, `fake zfs: send ${unsupported} is not implemented`);
  if (!o.dryrun && isatty(1)) fail(1, "Error: Stream can not be written to a terminal.\nYou must redirect standard output.");
  const state = loadState();
  return o.token !== undefined ? sendResume(state, o.token, o) : sendSnapshots(state, r.rest[0]!, o);
}

// --- internal ---

function sendSnapshots(state: FakeState, to: string, o: SendOptions): number {
  const at = to.indexOf("@");
  if (at < 0) {
    if (o.doall) fail(1, "Error: Unsupported flag with filesystem or bookmark.");
    fail(1, `fake zfs: sending filesystem '${to}' without a snapshot is not implemented`);
  }
  const dsName = to.slice(0, at);
  const ds = state.datasets[dsName];
  const target = ds?.snapshots[to.slice(at + 1)];
  if (!ds || !target) fail(1, `cannot open '${to}': dataset does not exist`);
  const records: { header: RecordHeader; shownFrom?: string }[] = [];
  if (o.from === undefined) {
    records.push({ header: header(to, target, o.flags) });
  } else if (o.doall) {
    if (o.from.includes("#")) fail(1, "Error: multiple snapshots cannot be sent from a bookmark.");
    const fat = o.from.indexOf("@");
    if (fat > 0 && o.from.slice(0, fat) !== dsName) usageError("send", "incremental source must be in same filesystem");
    const short = fat < 0 ? o.from : o.from.slice(fat + 1);
    if (/[@/]/.test(short)) usageError("send", "invalid incremental source");
    const from = ds.snapshots[short];
    if (!from) fail(1, `cannot open '${dsName}@${short}': dataset does not exist`);
    checkEarlier(to, from, target, short);
    let prev: [string, FakeVersion] = [short, from];
    for (const [name, v] of snapshotsOf(ds)) {
      if (v.createtxg <= from.createtxg || v.createtxg > target.createtxg) continue;
      records.push({ header: header(`${dsName}@${name}`, v, o.flags, `${dsName}@${prev[0]}`, prev[1]), shownFrom: prev[0] });
      prev = [name, v];
    }
  } else {
    let fromName = o.from;
    if (!/[@#]/.test(fromName)) {
      err("Warning: incremental source didn't specify type, assuming snapshot. Use '@' or '#' prefix to avoid ambiguity.\n");
      fromName = `@${fromName}`;
    }
    if (fromName.startsWith("@") || fromName.startsWith("#")) fromName = `${dsName}${fromName}`;
    const from = lookup(state, fromName);
    if (!from) fail(1, `cannot open '${fromName}': dataset does not exist`);
    if (fromName.split(/[@#]/)[0] !== dsName) fail(1, `warning: cannot send '${to}': not an earlier snapshot from the same fs`);
    checkEarlier(to, from, target, fromName);
    records.push({ header: header(to, target, o.flags, fromName, from), shownFrom: fromName });
  }
  if (o.verbosity > 0) printEstimate(o, records);
  if (o.dryrun) return 0;
  // -I and -p go through libzfs's zfs_send(), which writes a package (compound BEGIN, END) first.
  const packaged = o.doall || records.some((r) => r.header.props !== undefined);
  return write(records.map((r) => r.header), to, packaged);
}

function sendResume(state: FakeState, token: string, o: SendOptions): number {
  let pairs;
  try {
    pairs = decodeToken(token);
  } catch (error) {
    if (error instanceof TokenError) fail(255, `cannot resume send: ${error.message}`);
    throw error;
  }
  const fout = o.dryrun ? out : err;
  if (o.verbosity > 0) fout(`resume token contents:\n${printNvlist(pairs)}`);
  const t = tokenFields(pairs);
  if (!t) fail(255, "cannot resume send: resume token is corrupt");
  const dsName = t.toname.split("@")[0]!;
  const ds = state.datasets[dsName];
  const found = ds && byGuid(dsName, ds, t.toguid, false);
  if (!ds || !found) {
    const sameName = ds?.snapshots[t.toname.split("@")[1] ?? ""];
    fail(255, `cannot resume send: '${t.toname}' ${sameName ? "is no longer the same snapshot used in the initial send" : "used in the initial send no longer exists"}`);
  }
  let fromName: string | undefined;
  let from: FakeVersion | undefined;
  if (t.fromguid !== 0n) {
    const f = byGuid(dsName, ds, t.fromguid, true);
    if (!f) fail(255, `cannot resume send: incremental source 0x${t.fromguid.toString(16)} no longer exists`);
    [fromName, from] = f;
  }
  const to = found[0];
  const h = header(to, found[1], t.flags, fromName, from);
  h.offset = Math.min(Number(t.offset), h.payload);
  h.resume = true;
  if (o.verbosity > 0) printEstimate(o, [{ header: h, ...(fromName ? { shownFrom: fromName } : {}) }]);
  if (o.dryrun) return 0;
  return write([h], to);
}

function header(toname: string, to: FakeVersion, flags: StreamFlags, fromname?: string, from?: FakeVersion): RecordHeader {
  return {
    toname,
    toguid: to.guid,
    ...(from && fromname ? { fromguid: from.guid, fromname } : {}),
    creation: to.creation,
    // FAKE_ZFS_SEND_BYTES at send time wins (benches); else the size recorded at snapshot time.
    payload: envSendBytes() ?? to.payload ?? sendBytes(),
    offset: 0,
    flags,
    // -p: the dataset's local properties travel with the stream, as zfs send -p's nvlist does.
    // FAKE_ZFS_SEND_PROPS=1: a hostile sender, whose every stream carries properties as with -p.
    ...(flags.props || process.env.FAKE_ZFS_SEND_PROPS === "1" ? { props: { ...loadState().datasets[toname.split("@")[0]!]?.props } } : {}),
  };
}

function write(headers: RecordHeader[], to: string, packaged = false): number {
  const failAfter = process.env.FAKE_ZFS_FAIL_AFTER;
  const writer = new StreamWriter(1, failAfter === undefined ? Number.POSITIVE_INFINITY : Number(failAfter));
  try {
    if (packaged) writer.writePackage(to);
    for (const h of headers) writer.writeRecord(h);
  } catch (error) {
    if (error instanceof FailAfter) fail(1, `warning: cannot send '${to}': Input/output error`);
    if ((error as { code?: string }).code === "EPIPE") fail(1, `warning: cannot send '${to}': Broken pipe`);
    throw error;
  }
  return 0;
}

/** send_print_verbose() for each record, then the total (zfs_main.c / libzfs_sendrecv.c). */
function printEstimate(o: SendOptions, records: { header: RecordHeader; shownFrom?: string }[]): void {
  const fout = o.dryrun ? out : err;
  let total = 0;
  for (const { header: h, shownFrom } of records) {
    const size = recordSize(h);
    total += size;
    if (o.parsable) {
      fout(`${shownFrom === undefined ? `full\t${h.toname}` : `incremental\t${shownFrom}\t${h.toname}`}\t${size}\n`);
    } else {
      const what = shownFrom === undefined ? `full send of ${h.toname}` : `send from ${/[@#]/.test(shownFrom) ? "" : "@"}${shownFrom} to ${h.toname}`;
      fout(`${what}${size !== 0 ? ` estimated size is ${nicenum(size)}` : ""}\n`);
    }
  }
  fout(o.parsable ? `size\t${total}\n` : `total estimated size is ${nicenum(total)}\n`);
}

function checkEarlier(to: string, from: FakeVersion, target: FakeVersion, fromName: string): void {
  if (from.createtxg < target.createtxg) return;
  // OpenZFS 2.3 checks a snapshot in libzfs; a bookmark only in the kernel, which says EXDEV.
  const why = fromName.includes("#") ? "Invalid cross-device link" : "not an earlier snapshot from the same fs";
  fail(1, `warning: cannot send '${to}': ${why}`);
}

function lookup(state: FakeState, name: string): FakeVersion | undefined {
  const sep = name.search(/[@#]/);
  const ds = state.datasets[name.slice(0, sep)];
  return name[sep] === "@" ? ds?.snapshots[name.slice(sep + 1)] : ds?.bookmarks[name.slice(sep + 1)];
}

/** guid_to_name(): the full name of a snapshot (or, for a source, a bookmark) of `ds` with this guid. */
function byGuid(dsName: string, ds: FakeDataset, guid: bigint, bookmarks: boolean): [string, FakeVersion] | undefined {
  const snap = Object.entries(ds.snapshots).find(([, v]) => BigInt(v.guid) === guid);
  if (snap) return [`${dsName}@${snap[0]}`, snap[1]];
  const bm = bookmarks ? Object.entries(ds.bookmarks).find(([, v]) => BigInt(v.guid) === guid) : undefined;
  return bm ? [`${dsName}#${bm[0]}`, bm[1]] : undefined;
}
