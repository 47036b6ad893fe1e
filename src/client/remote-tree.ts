/**
 * A list_tree response, gathered: each dataset the server listed with its versions, oldest first.
 * The body is decoded record by record as it arrives; every entry is validated, and a version must
 * follow the dataset it belongs to (the server writes them in zfs's order), so a hostile server
 * cannot slip a version of one dataset into another.
 */
import { treeRecord, type TreeDatasetEntry, type TreeVersionEntry } from "../api/index.ts";
import { RecordDecoder } from "../rpc/index.ts";
import { ProtocolError } from "../wire/index.ts";
import { interner } from "../zfs/index.ts";

export interface RemoteTreeNode {
  readonly entry: TreeDatasetEntry;
  readonly versions: TreeVersionEntry[];
}

/** Dataset name → node; names as the server gave them. */
export type RemoteTree = Map<string, RemoteTreeNode>;

/** Collects a list_tree body; `sink` goes to callOctets, `done()` returns the tree once it ended. */
export function treeCollector(what: string): { sink: (chunk: Uint8Array) => void; done: () => RemoteTree } {
  const decoder = new RecordDecoder(what);
  const tree: RemoteTree = new Map();
  const intern = interner();
  let record = 0;
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
        if (!isVersion(entry)) {
          if (tree.has(entry.name)) throw new ProtocolError(`${what}: ${JSON.stringify(entry.name)} is listed twice`);
          tree.set(entry.name, { entry, versions: [] });
        } else {
          const node = tree.get(entry.dataset);
          if (!node) throw new ProtocolError(`${what}: a version of ${JSON.stringify(entry.dataset)}, which it did not list before`);
          // One copy of the dataset's name and of each short name (a wide tree's snapshots share them).
          node.versions.push({ ...entry, dataset: node.entry.name, name: intern(entry.name) });
        }
      }
    }
  };
  const done = (): RemoteTree => {
    decoder.end();
    for (const node of tree.values()) node.versions.sort(byTxg);
    return tree;
  };
  return { sink, done };
}

function isVersion(entry: TreeDatasetEntry | TreeVersionEntry): entry is TreeVersionEntry {
  return entry.type === "snapshot" || entry.type === "bookmark";
}

/** Oldest first; a bookmark before the snapshot of the same txg (as zfs/list.ts sorts). */
function byTxg(a: TreeVersionEntry, b: TreeVersionEntry): number {
  if (a.createtxg !== b.createtxg) return a.createtxg < b.createtxg ? -1 : 1;
  if (a.type !== b.type) return a.type === "bookmark" ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
