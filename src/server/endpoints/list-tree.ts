/**
 * list_tree: every filesystem this identity may pull from (or, with `received`, every one it
 * pushed), each followed by its snapshots and bookmarks, from one zfs listing. The body is a
 * record stream (rpc/record-stream.ts) written while zfs prints, so a listing of any size is
 * never held whole. The ACL filters each line before it is encoded: nothing outside it is sent,
 * not even a name.
 */
import { ENDPOINTS, listTreeArgs, TREE_RECORD_ENTRIES, type TreeDatasetEntry, type TreeVersionEntry } from "../../api/index.ts";
import { RpcError, defineEndpoint, encodeRecord, type OctetProducer } from "../../rpc/index.ts";
import { ZfsError, quote, scanTree, type DatasetName, type TreeRecord } from "../../zfs/index.ts";
import type { ServerContext } from "../context.ts";
import { isBeingReceived } from "../receive-lock.ts";
import { readableRecords } from "../readable-records.ts";

export function listTreeEndpoint(ctx: ServerContext) {
  return defineEndpoint({
    name: ENDPOINTS.listTree,
    args: listTreeArgs,
    body: "none",
    response: "octets",
    async handle(args): Promise<OctetProducer> {
      const only = args.datasets;
      const versions = args.versions ?? true;
      if (!args.received) {
        // Named datasets outside the ACL are not even listed (the view would drop them anyway).
        const records = only ? scanTree(ctx.runner, only.filter((ds) => ctx.acl.mayRead(ds)), { versions, rootsOnly: true, missingRootsOk: true }) : readableRecords(ctx, { versions });
        return treeProducer(records, pullView(ctx));
      }
      const root = ctx.acl.receiveRoot;
      if (!root) throw new RpcError("permission_denied", `Client ${quote(ctx.identity)} may not push: no receive_root is configured for it`);
      const records = only
        ? scanTree(ctx.runner, receivedNames(ctx, only), { placeholders: true, versions, rootsOnly: true, missingRootsOk: true })
        : scanTree(ctx.runner, [root], { placeholders: true, versions });
      return treeProducer(records, receivedView(ctx, root), { emptyIfMissing: true });
    },
  });
}

// --- internal ---

type Entry = TreeDatasetEntry | TreeVersionEntry;

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
type View = (record: TreeRecord) => Entry | null;

function pullView(ctx: ServerContext): View {
  return (record) => {
    if (record.kind === "dataset") return ctx.acl.mayRead(record.dataset.name) ? datasetEntry(record, record.dataset.name, false) : null;
    return ctx.acl.mayRead(record.version.name.dataset) ? versionEntry(record, record.version.name.dataset) : null;
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
      return datasetEntry(record, clientName(name), true);
    }
    const ds = record.version.name.dataset;
    return ds === root || hidden.has(ds) ? null : versionEntry(record, clientName(ds));
  };
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

function versionEntry(record: Extract<TreeRecord, { kind: "version" }>, dataset: string): TreeVersionEntry {
  const v = record.version;
  return {
    type: v.name.kind,
    dataset,
    name: v.name.name,
    guid: v.guid,
    createtxg: v.createtxg,
    creation: v.creation,
    ...(v.referenced === null ? {} : { referenced: v.referenced }),
    ...(v.written === null ? {} : { written: v.written }),
  };
}

/** The listing as an octet body: records of up to TREE_RECORD_ENTRIES entries, encoded as zfs prints. */
function treeProducer(records: AsyncGenerator<TreeRecord, void, undefined>, view: View, options: { emptyIfMissing?: boolean } = {}): OctetProducer {
  let failure: string | null = null;
  let stopped: string | null = null;
  async function* chunks(): AsyncGenerator<Uint8Array, void, undefined> {
    let batch: Entry[] = [];
    try {
      for await (const record of records) {
        if (stopped !== null) return; // leaving the loop kills zfs
        const entry = view(record);
        if (entry === null) continue;
        batch.push(entry);
        if (batch.length === TREE_RECORD_ENTRIES) {
          yield encodeRecord(batch);
          batch = [];
        }
      }
      if (batch.length > 0) yield encodeRecord(batch);
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
