/**
 * list_tree: every filesystem this identity may pull from (or, with `received`, every one it
 * pushed), each followed by its snapshots and bookmarks, from one zfs listing. The body is a
 * record stream (rpc/record-stream.ts) written while zfs prints, so a listing of any size is
 * never held whole. The ACL filters each line before it is encoded: nothing outside it is sent,
 * not even a name.
 */
import { ENDPOINTS, listTreeArgs, TREE_COLUMN_VERSIONS, TREE_RECORD_ENTRIES, writeColumnsEntry, type TreeDatasetEntry, type TreeVersionEntry } from "../../api/index.ts";
import { RecordBuilder, RpcError, defineEndpoint, type CborWriter, type OctetProducer } from "../../rpc/index.ts";
import { ZfsError, quote, rowAt, scanTree, sliceColumns, type DatasetName, type TreeRecord, type VersionColumns, type VersionRow } from "../../zfs/index.ts";
import type { ServerContext } from "../context.ts";
import { isBeingReceived } from "../receive-lock.ts";
import { readableRecordsNotingEncryption } from "../encryption-policy.ts";

export function listTreeEndpoint(ctx: ServerContext) {
  return defineEndpoint({
    name: ENDPOINTS.listTree,
    args: listTreeArgs,
    body: "none",
    response: "octets",
    async handle(args): Promise<OctetProducer> {
      const only = args.datasets;
      const versions = args.versions ?? true;
      const columns = args.columns ?? false;
      if (!args.received) {
        // Named datasets outside the ACL are not even listed (the view would drop them anyway).
        const records = only ? scanTree(ctx.runner, only.filter((ds) => ctx.acl.mayRead(ds)), { versions, rootsOnly: true, missingRootsOk: true }) : readableRecordsNotingEncryption(ctx, { versions });
        return treeProducer(records, pullView(ctx), { columns });
      }
      const root = ctx.acl.receiveRoot;
      if (!root) throw new RpcError("permission_denied", `Client ${quote(ctx.identity)} may not push: no receive_root is configured for it`);
      const records = only
        ? scanTree(ctx.runner, receivedNames(ctx, only), { placeholders: true, versions, rootsOnly: true, missingRootsOk: true, sizes: false })
        : scanTree(ctx.runner, [root], { placeholders: true, versions, sizes: false });
      return treeProducer(records, receivedView(ctx, root), { emptyIfMissing: true, columns });
    },
  });
}

// --- internal ---

/** A dataset's entry, or versions (one, or some in columns) with their dataset named as the client knows it. */
type Viewed = { readonly dataset: TreeDatasetEntry } | { readonly of: string; readonly version: VersionRow } | { readonly of: string; readonly columns: VersionColumns };

/** The client's names as they are below receive_root; one too long for zfs cannot exist there. */
function receivedNames(ctx: ServerContext, names: readonly DatasetName[]): DatasetName[] {
  const out: DatasetName[] = [];
  for (const name of names) {
    try {
      const target = ctx.acl.receiveTargetFor(name);
      if (target) out.push(target);
    } catch {
      // NameError: longer than zfs allows, so nothing was ever received there.
    }
  }
  return out;
}

/** What of a record the client may see, named as it knows it; null leaves the record out. */
type View = (record: TreeRecord) => Viewed | null;

function pullView(ctx: ServerContext): View {
  // A dataset's versions follow it: the ACL answers once for all of them.
  let last: { name: string; readable: boolean } = { name: "", readable: false };
  const mayRead = (name: DatasetName): boolean => {
    if (last.name !== name) last = { name, readable: ctx.acl.mayRead(name) };
    return last.readable;
  };
  return (record) => {
    if (record.kind === "dataset") return mayRead(record.dataset.name) ? { dataset: datasetEntry(record, record.dataset.name, false) } : null;
    return mayRead(record.dataset) ? versionsOf(record, record.dataset) : null;
  };
}

/**
 * Below receive_root, named as on the client. A dataset another process is receiving into right
 * now is left out (list-received.ts says why), with its versions.
 */
function receivedView(ctx: ServerContext, root: DatasetName): View {
  const hidden = new Set<string>();
  const clientName = (name: string) => name.slice(root.length + 1);
  return (record) => {
    if (record.kind === "dataset") {
      const name = record.dataset.name;
      if (name === root) return null;
      if (isBeingReceived(ctx, name)) {
        hidden.add(name);
        return null;
      }
      return { dataset: datasetEntry(record, clientName(name), true) };
    }
    const ds = record.dataset;
    return ds === root || hidden.has(ds) ? null : versionsOf(record, clientName(ds));
  };
}

function versionsOf(record: Exclude<TreeRecord, { kind: "dataset" }>, of: string): Viewed {
  return record.kind === "version" ? { of, version: record.version } : { of, columns: record.columns };
}

function datasetEntry(record: Extract<TreeRecord, { kind: "dataset" }>, name: string, received: boolean): TreeDatasetEntry {
  const d = record.dataset;
  return {
    type: d.type,
    name,
    ...(d.guid === null ? {} : { guid: d.guid }),
    ...(d.snapshotsChanged === null ? {} : { snapshots_changed: d.snapshotsChanged }),
    ...(received && d.resumeToken ? { resume_token: d.resumeToken } : {}),
    ...(received && d.placeholder ? { placeholder: true } : {}),
  };
}

function versionEntry(v: VersionRow, dataset: string): TreeVersionEntry {
  return {
    type: v.kind,
    dataset,
    name: v.name,
    guid: v.guid,
    createtxg: v.createtxg,
    creation: v.creation,
    ...(v.referenced === null ? {} : { referenced: v.referenced }),
    ...(v.written === null ? {} : { written: v.written }),
  };
}

/**
 * The listing as an octet body, encoded as zfs prints: records of up to TREE_RECORD_ENTRIES
 * entries and some RECORD_TARGET_BYTES, each entry written as it comes (RecordBuilder); with
 * `columns`, a dataset's versions gathered into column entries of up to TREE_COLUMN_VERSIONS,
 * written straight from their columns.
 */
function treeProducer(batches: AsyncGenerator<readonly TreeRecord[], void, undefined>, view: View, options: { emptyIfMissing?: boolean; columns?: boolean } = {}): OctetProducer {
  let failure: string | null = null;
  let stopped: string | null = null;
  async function* chunks(): AsyncGenerator<Uint8Array, void, undefined> {
    /** Records encoded and not yet yielded. */
    const ready: Uint8Array[] = [];
    const record = new RecordBuilder();
    let group: ColumnsGroup | null = null;
    const add = (write: (w: CborWriter) => void): void => {
      record.add(write);
      if (record.count >= TREE_RECORD_ENTRIES || record.size >= RECORD_TARGET_BYTES) ready.push(record.take());
    };
    const closeGroup = (): void => {
      if (!group) return;
      const { of, pieces } = group;
      group = null;
      add((w) => writeColumnsEntry(w, of, pieces));
    };
    /** Versions of `of` into column entries, each of one dataset and at most TREE_COLUMN_VERSIONS. */
    const gather = (of: string, piece: VersionColumns | VersionRow): void => {
      const n = "bookmark" in piece ? piece.bookmark.length : 1;
      for (let at = 0; at < n; ) {
        if (group && (group.of !== of || group.length === TREE_COLUMN_VERSIONS)) closeGroup();
        group ??= { of, pieces: [], length: 0 };
        const take = Math.min(n - at, TREE_COLUMN_VERSIONS - group.length);
        group.pieces.push("bookmark" in piece ? (take === n ? piece : sliceColumns(piece, at, at + take)) : piece);
        group.length += take;
        at += take;
      }
    };
    try {
      for await (const records of batches) {
        for (const listed of records) {
          if (stopped !== null) return; // leaving the loop kills zfs
          const viewed = view(listed);
          if (viewed === null) continue;
          if ("dataset" in viewed) {
            closeGroup();
            add((w) => w.value(viewed.dataset));
          } else if (options.columns) {
            gather(viewed.of, "version" in viewed ? viewed.version : viewed.columns);
          } else if ("version" in viewed) {
            add((w) => w.value(versionEntry(viewed.version, viewed.of)));
          } else {
            for (let i = 0; i < viewed.columns.bookmark.length; i++) add((w) => w.value(versionEntry(rowAt(viewed.columns, i), viewed.of)));
          }
          while (ready.length > 0) yield ready.shift()!;
        }
      }
      closeGroup();
      if (record.count > 0) ready.push(record.take());
      while (ready.length > 0) yield ready.shift()!;
    } catch (err) {
      // A receive_root not created yet holds nothing pushed: an empty listing.
      if (!(options.emptyIfMissing && err instanceof ZfsError && err.isDatasetMissing)) failure = (err as Error).message;
    }
  }
  return {
    source: chunks(),
    abort(reason) {
      stopped ??= reason;
    },
    async finish() {
      return stopped ?? failure;
    },
  };
}

/** Versions of one dataset on their way into one column entry. */
interface ColumnsGroup {
  readonly of: string;
  readonly pieces: (VersionColumns | VersionRow)[];
  length: number;
}

/** Where a record is cut short of TREE_RECORD_ENTRIES: far below MAX_RECORD_BYTES, whatever one entry adds. */
const RECORD_TARGET_BYTES = 256 << 10;
