/**
 * `zfs receive` of the fake stream (stream.ts), after zfs_do_receive (zfs_main.c) and
 * zfs_receive_one (libzfs_sendrecv.c): new filesystem vs incremental checks, -F, -s partial state
 * with a real resume token, -A. The payload is discarded in 1 MiB reads; only its length counts.
 */
import { appendFileSync } from "node:fs";
import { isatty } from "node:tty";
import { fail, out } from "./_exit.ts";
import { getopt } from "./_getopt.ts";
import { resumeTokenOf } from "./resume.ts";
import { loadState, newDataset, nextTxg, now, parentOf, snapshotsOf, updateState, type FakeState } from "./state.ts";
import { BACKUP_MAGIC, BEGIN_BYTES, END, MAGIC, StreamReader, headerType, type RecordHeader } from "./stream.ts";
import { usageError } from "./usage.ts";

interface RecvOptions {
  force: boolean;
  resumable: boolean;
  dryrun: boolean;
  verbose: boolean;
  props: Record<string, string>;
  /** -x: properties whose stream value is ignored. */
  exclude: Set<string>;
}

/** What validation decided for one record. */
interface Plan {
  skip: boolean;
  newfs: boolean;
  /** Snapshots to destroy first (-F rollback to the incremental source). */
  rollback: string[];
}

const MAX_HEADER_BYTES = 64 * 1024;

export function cmdReceive(args: string[]): number {
  const r = getopt(args, ":o:x:dehMnuvFsA");
  if (!r.ok) usageError("receive", r.message);
  const o: RecvOptions = { force: false, resumable: false, dryrun: false, verbose: false, props: {}, exclude: new Set() };
  let abort = false;
  let prefix = "";
  let nomount = false;
  for (const { opt, arg = "" } of r.opts) {
    if (opt === "F") o.force = true;
    else if (opt === "s") o.resumable = true;
    else if (opt === "n") o.dryrun = true;
    else if (opt === "v") o.verbose = true;
    else if (opt === "u") nomount = true;
    else if (opt === "A") abort = true;
    else if (opt === "o") {
      const eq = arg.indexOf("=");
      if (eq < 0) usageError("receive", "missing '=' for property=value argument");
      const name = arg.slice(0, eq);
      if (name in o.props || o.exclude.has(name)) usageError("receive", `property '${name}' specified multiple times`);
      o.props[name] = arg.slice(eq + 1);
    } else if (opt === "x") {
      if (arg in o.props || o.exclude.has(arg)) usageError("receive", `property '${arg}' specified multiple times`);
      o.exclude.add(arg);
    } else if (opt === "d" || opt === "e") {
      if (prefix && prefix !== opt) usageError("receive", "invalid option combination: -d and -e are mutually exclusive");
      prefix = opt;
    }
  }
  if (r.rest.length < 1) usageError("receive", "missing snapshot argument");
  if (r.rest.length > 1) usageError("receive", "too many arguments");
  const target = r.rest[0]!;
  if (abort) {
    if (prefix || o.dryrun || o.resumable || nomount) usageError("receive", "invalid option");
    return abortReceive(target);
  }
  if (prefix) fail(2, `fake zfs: receive -${prefix} is not implemented`);
  if (isatty(0)) fail(1, "Error: Backup stream can not be read from a terminal.\nYou must redirect standard input.");
  return receive(target, o);
}

// --- internal ---

function abortReceive(name: string): number {
  updateState((state) => {
    const ds = state.datasets[name];
    if (!ds) usageError("receive", `cannot open '${name}': dataset does not exist`);
    if (!ds.partial) fail(1, `'${name}' does not have any resumable receive state to abort`);
    if (ds.partial.newfs) delete state.datasets[name];
    else delete ds.partial;
  });
  return 0;
}

function receive(target: string, o: RecvOptions): number {
  const [dsName, explicitSnap] = target.split("@") as [string, string | undefined];
  const reader = new StreamReader(0);
  let packaged = false;
  for (let records = 0; ; records++) {
    const start = reader.total;
    const begin = reader.take(BEGIN_BYTES);
    if (begin.length === 0 && records > 0) return 0;
    if (records === 0 && !packaged && begin.length > 0 && process.env.FAKE_ZFS_FED_LOG) appendFileSync(process.env.FAKE_ZFS_FED_LOG, `${target}\n`);
    if (begin.length < BEGIN_BYTES) fail(1, "cannot receive: failed to read from stream");
    if (begin.readBigUInt64LE(8) !== BACKUP_MAGIC) fail(1, "cannot receive: invalid stream (bad magic number)");
    if (records === 0 && !packaged && headerType(begin) === 2) {
      // A package (-I, -p): its END record, then the substreams.
      if (reader.take(BEGIN_BYTES).length < BEGIN_BYTES) fail(1, "cannot receive: failed to read from stream");
      packaged = true;
      records--;
      continue;
    }
    const h = readHeader(reader, reader.take(MAGIC.length));
    const incremental = h.fromguid !== undefined;
    const errbuf = incremental || h.resume ? "cannot receive incremental stream" : "cannot receive new filesystem stream";
    const snapname = (records === 0 ? explicitSnap : undefined) ?? h.toname.split("@")[1]!;
    const plan = validate(loadState(), dsName, snapname, h, errbuf, o);
    if (o.verbose) {
      out(`${o.dryrun ? "would receive" : "receiving"} ${incremental ? "incremental" : "full"} stream of ${h.toname} into ${dsName}@${snapname}\n`);
    }
    const want = h.payload - h.offset;
    const got = reader.skip(want);
    const complete = got === want && reader.take(END.length).equals(END);
    if (!complete) {
      if (!o.resumable || o.dryrun) fail(1, `${errbuf}: checksum mismatch or incomplete stream`);
      const token = savePartial(dsName, snapname, h, plan, got, reader.total - start, o);
      fail(
        1,
        `${errbuf}: checksum mismatch or incomplete stream.\nPartially received snapshot is saved.\n` +
          `A resuming stream can be generated on the sending system by running:\n    zfs send -t ${token}`,
      );
    }
    if (!plan.skip && !o.dryrun) commit(dsName, snapname, h, plan, o);
  }
}

function readHeader(reader: StreamReader, magic: Buffer): RecordHeader {
  if (magic.length < MAGIC.length) fail(1, "cannot receive: failed to read from stream");
  if (!magic.equals(MAGIC)) fail(1, "cannot receive: invalid stream (bad magic number)");
  const len = reader.take(4);
  if (len.length < 4) fail(1, "cannot receive: failed to read from stream");
  const n = len.readUInt32BE(0);
  if (n > MAX_HEADER_BYTES) fail(1, "cannot receive: invalid stream (bad magic number)");
  const json = reader.take(n);
  if (json.length < n) fail(1, "cannot receive: failed to read from stream");
  try {
    return JSON.parse(json.toString("utf8")) as RecordHeader;
  } catch {
    fail(1, "cannot receive: invalid stream (bad magic number)");
  }
}

function validate(state: FakeState, dsName: string, snapname: string, h: RecordHeader, errbuf: string, o: RecvOptions): Plan {
  const ds = state.datasets[dsName];
  if (h.resume) {
    if (!ds?.partial || ds.partial.toguid !== h.toguid) {
      fail(1, `${errbuf}: destination '${dsName}' has no partially received state for this stream`);
    }
    if (ds.partial.offset !== h.offset) fail(1, `${errbuf}: invalid backup stream`);
    return { skip: false, newfs: ds.partial.newfs, rollback: [] };
  }
  if (ds?.partial) fail(1, `${errbuf}: destination ${dsName} contains partially-complete state from "zfs receive -s".`);
  const existing = ds?.snapshots[snapname];
  if (existing?.guid === h.toguid) return { skip: true, newfs: false, rollback: [] };
  if (h.fromguid === undefined) {
    if (ds) {
      if (!o.force) fail(1, `${errbuf}: destination '${dsName}' exists\nmust specify -F to overwrite it`);
      const first = snapshotsOf(ds)[0];
      if (first) fail(1, `${errbuf}: destination has snapshots (eg. ${dsName}@${first[0]})\nmust destroy them to overwrite it`);
      return { skip: false, newfs: false, rollback: [] };
    }
    if (!dsName.includes("/")) fail(1, `${errbuf}: destination '${dsName}' does not exist`);
    if (!state.datasets[parentOf(dsName)!]) fail(1, `${errbuf}: dataset does not exist`);
    return { skip: false, newfs: true, rollback: [] };
  }
  if (!ds) fail(1, `${errbuf}: destination '${dsName}' does not exist`);
  const snaps = snapshotsOf(ds);
  const base = snaps.findIndex(([, v]) => v.guid === h.fromguid);
  const newer = base < 0 ? [] : snaps.slice(base + 1).map(([name]) => name);
  if (base < 0 || (newer.length > 0 && !o.force)) {
    fail(1, `${errbuf}: most recent snapshot of ${dsName} does not\nmatch incremental source`);
  }
  if (existing && !newer.includes(snapname)) fail(1, `cannot restore to ${dsName}@${snapname}: destination already exists`);
  return { skip: false, newfs: false, rollback: newer };
}

function commit(dsName: string, snapname: string, h: RecordHeader, plan: Plan, o: RecvOptions): void {
  updateState((state) => {
    let ds = state.datasets[dsName];
    if (!ds) {
      ds = { ...newDataset(state), props: { ...o.props } };
      state.datasets[dsName] = ds;
    }
    for (const name of plan.rollback) delete ds.snapshots[name];
    Object.assign(ds.props, o.props); // -o applies to an existing target too (zfs_receive_one)
    // A -p stream's properties become received values, except those -x names (the dataset then
    // inherits them, as if the stream had not carried them).
    if (h.props) {
      const received = Object.entries(h.props).filter(([name]) => !o.exclude.has(name));
      ds.received = { ...ds.received, ...Object.fromEntries(received) };
    }
    delete ds.partial;
    ds.snapshots[snapname] = { guid: h.toguid, createtxg: nextTxg(state), creation: h.creation, payload: h.payload };
    ds.snapshotsChanged = now();
    ds.referenced = h.payload;
  });
}

function savePartial(dsName: string, snapname: string, h: RecordHeader, plan: Plan, got: number, read: number, o: RecvOptions): string {
  return updateState((state) => {
    let ds = state.datasets[dsName];
    const previousBytes = h.resume ? (ds?.partial?.bytes ?? 0) : 0;
    if (!ds) {
      ds = { ...newDataset(state), props: { ...o.props } };
      state.datasets[dsName] = ds;
    }
    for (const name of plan.rollback) delete ds.snapshots[name];
    ds.partial = {
      toname: h.toname,
      toguid: h.toguid,
      ...(h.fromguid === undefined ? {} : { fromguid: h.fromguid }),
      offset: h.offset + got,
      bytes: previousBytes + read,
      payload: h.payload,
      creation: h.creation,
      flags: h.flags,
      snapname,
      newfs: plan.newfs,
    };
    return resumeTokenOf(ds)!;
  });
}
