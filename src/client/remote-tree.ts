/**
 * A list_tree response, gathered: each dataset the server listed with its versions, oldest first,
 * packed in one VersionTable (zfs/packed-versions.ts). The body is decoded record by record as it
 * arrives, version by version or in column entries (api/tree-columns.ts); every entry is
 * validated, and a version must follow the dataset it belongs to (the server writes them in zfs's
 * order), so a hostile server cannot slip a version of one dataset into another.
 */
import { treeRecord, type TreeColumnsEntry, type TreeDatasetEntry, type TreeVersionEntry } from "../api/index.ts";
import { RecordDecoder } from "../rpc/index.ts";
import { ProtocolError } from "../wire/index.ts";
import { interner, PackedVersions, VersionColumnsBuilder, VersionTable, type VersionList, type VersionRow, type VersionShortName, type VersionView } from "../zfs/index.ts";

export interface RemoteTreeNode {
  readonly entry: TreeDatasetEntry;
  /** Oldest first, packed (zfs/packed-versions.ts). */
  readonly versions: VersionList<TreeVersionEntry>;
}

/** Dataset name → node; names as the server gave them. */
export type RemoteTree = Map<string, RemoteTreeNode>;

/** Collects a list_tree body; `sink` goes to callOctets, `done()` returns the tree once it ended. */
export function treeCollector(what: string): { sink: (chunk: Uint8Array) => void; done: () => RemoteTree } {
  const decoder = new RecordDecoder(what);
  const tree: RemoteTree = new Map();
  const intern = interner();
  const table = new VersionTable();
  let record = 0;
  // The dataset listed last, whose versions are still coming; packed when the next one begins.
  let current: { entry: TreeDatasetEntry; versions: VersionColumnsBuilder } | null = null;
  const pack = (): void => {
    if (current && current.versions.size > 0) tree.set(current.entry.name, { entry: current.entry, versions: table.append(current.versions, current.entry.name, entryView) });
    current = null;
  };
  const sink = (chunk: Uint8Array): void => {
    for (const value of decoder.push(chunk)) {
      record++;
      let entries;
      try {
        entries = treeRecord(value, `record ${record}`);
      } catch (err) {
        throw new ProtocolError(`${what}: ${(err as Error).message}`);
      }
      for (const entry of entries) {
        if (isDataset(entry)) {
          if (tree.has(entry.name)) throw new ProtocolError(`${what}: ${JSON.stringify(entry.name)} is listed twice`);
          pack();
          tree.set(entry.name, { entry, versions: NO_VERSIONS });
          current = { entry, versions: new VersionColumnsBuilder() };
          continue;
        }
        if (current?.entry.name !== entry.dataset) {
          const node = tree.get(entry.dataset);
          if (!node) throw new ProtocolError(`${what}: a version of ${JSON.stringify(entry.dataset)}, which it did not list before`);
          // zfs prints a dataset's versions right after it; should one come later, it joins them.
          pack();
          current = { entry: node.entry, versions: new VersionColumnsBuilder() };
          if (node.versions instanceof PackedVersions) for (const row of node.versions.rows()) current.versions.push(row);
        }
        // One copy of each short name (a wide tree's snapshots share them).
        if (isColumns(entry)) current.versions.pushColumns({ ...entry.columns, names: entry.columns.names.map((n) => intern(n) as VersionShortName) });
        else current.versions.push(rowOf(entry, intern(entry.name)));
      }
    }
  };
  const done = (): RemoteTree => {
    decoder.end();
    pack();
    return tree;
  };
  return { sink, done };
}

// --- internal ---

function isColumns(entry: TreeVersionEntry | TreeColumnsEntry): entry is TreeColumnsEntry {
  return entry.type === "versions";
}

function isDataset(entry: TreeDatasetEntry | TreeVersionEntry | TreeColumnsEntry): entry is TreeDatasetEntry {
  return entry.type === "filesystem" || entry.type === "volume";
}

const NO_VERSIONS: readonly TreeVersionEntry[] = Object.freeze([]);

function rowOf(v: TreeVersionEntry, name: string): VersionRow {
  return { kind: v.type, name: name as VersionShortName, guid: v.guid, createtxg: v.createtxg, creation: v.creation, referenced: v.referenced ?? null, written: v.written ?? null };
}

/** A packed version read as list_tree gave it. */
const entryView: VersionView<TreeVersionEntry> = (c, i, dataset) => {
  const referenced = c.referenced[i]!;
  const written = c.written[i]!;
  return {
    type: c.bookmark[i] === 1 ? "bookmark" : "snapshot",
    dataset,
    name: c.names[i]!,
    guid: c.guid[i]!,
    createtxg: c.createtxg[i]!,
    creation: c.creation[i]!,
    ...(Number.isNaN(referenced) ? {} : { referenced }),
    ...(Number.isNaN(written) ? {} : { written }),
  };
};
