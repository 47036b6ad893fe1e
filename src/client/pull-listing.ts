/**
 * What a pull plans from: the server's offered tree and the target tree here, each one listing,
 * read side by side while the connection opens.
 *
 * Where the last run left unchanged marks (unchanged.ts), the first listings are of datasets
 * alone, and only the filesystems whose marks moved on either side have their snapshots listed,
 * by name, in a second round (the whole trees when most of them moved). A no-op run of a wide
 * tree on OpenZFS 2.2+ then reads no snapshot at all.
 */
import type { Config, PullJobConfig } from "../config/index.ts";
import {
  CONFINEMENT_PROPERTIES,
  parseDatasetName,
  parseVersionShortName,
  quote,
  readTree,
  versionOf,
  ZfsError,
  ZfsRunner,
  type DatasetName,
  type ScanTreeOptions,
  type TreeNode,
  type TreeVersion,
  type ZfsCapabilities,
} from "../zfs/index.ts";
import { openFirstLane, type FirstLane } from "./lanes.ts";
import type { RemoteTree } from "./remote-tree.ts";
import { closingOnFailure, explainRpcError, openedWith, withLocalChecks, type JobSession } from "./session.ts";
import type { Plan } from "./plan.ts";
import { clockSeconds, listedEntry, markOf, replaceNamed, secondRound, sourceListedWhole, type SecondRoundLists, type UnchangedEntry, type UnchangedMarks, type UpToDateEntry } from "./unchanged.ts";

export type LocalTree = Map<string, TreeNode>;

export interface PullSides {
  readonly first: FirstLane;
  readonly caps: ZfsCapabilities;
  /** What the server offers the job (its filter applied), by name; the filesystems to plan with their versions. */
  readonly offered: RemoteTree;
  /** The tree below the job's root; the targets to plan with their versions. */
  readonly local: LocalTree;
  /** Filesystems up to date by their marks, whose versions were not listed. */
  readonly unchanged: ReadonlyMap<string, UnchangedEntry>;
  /** What to keep for the next run of a filesystem planned `plan` from its listed versions, if anything. */
  markable(name: string, target: string, plan: Plan): UnchangedEntry | null;
}

/**
 * Opens the job's first lane and lists both sides.
 * @throws Error with one line when the job cannot start (no root here, nothing offered, refused)
 */
export async function listPullSides(config: Config, job: PullJobConfig, runner: ZfsRunner, marks: UnchangedMarks): Promise<PullSides> {
  const datasetsFirst = marks.size > 0;
  const options = datasetsFirst ? { versions: false } : {};
  let localAt = clockSeconds();
  // Where most sources moved, their whole listing follows at once, beside the target's first
  // round (on OpenZFS that one opens every received dataset, the slower listing of the two).
  let sourceWhole: Promise<RemoteTree> | null = null;
  const opening = openedWith(openFirstLane(config, job), async (lane) => {
    const offered = await listOffered(lane.session, job, options);
    if (datasetsFirst && sourceListedWhole([...offered.keys()], marks, (name) => remoteDataset(offered, name))) {
      sourceWhole = listOffered(lane.session, job, {});
      sourceWhole.catch(() => {}); // awaited by the second round; unread when the target's first round failed
    }
    return offered;
  });
  const [{ caps, local: listed }, { opened: first, answer: offeredAll }] = await withLocalChecks(opening, checkLocalSide(runner, job, options));
  let trees = { offered: offeredAll, local: listed };
  let unchanged = new Map<string, UnchangedEntry>();
  if (datasetsFirst) {
    const { offered, local } = trees;
    localAt = clockSeconds();
    ({ trees, unchanged } = await closingOnFailure(first, () =>
      secondRound(trees, {
        names: [...offered.keys()],
        marks,
        now: { source: (name) => remoteDataset(offered, name), target: (name) => local.get(`${job.root}/${name}`)?.dataset },
        targetHeld: true,
        list: (lists) => listSecondRound(first.session, runner, job, { offered, local }, lists, sourceWhole),
      }),
    ));
  }
  const { offered, local } = trees;
  const serverAt = first.session.info.time ?? null;
  return {
    first,
    caps,
    offered,
    local,
    unchanged,
    markable(name, target, plan) {
      if (plan.kind === "skip") {
        const source = markOf(remoteDataset(offered, name), serverAt, { none: true });
        return source && (offered.get(name)?.versions.length ?? 1) === 0 ? { kind: "no_snapshots", source } : null;
      }
      if (plan.kind !== "up_to_date") return null;
      const source = markOf(remoteDataset(offered, name), serverAt);
      const here = markOf(local.get(target)?.dataset, localAt);
      return source && here ? { kind: "up_to_date", source, target: here, at: plan.at } : null;
    },
  };
}

// --- internal ---

function remoteDataset(tree: RemoteTree, name: string) {
  return listedEntry(tree.get(name)?.entry);
}

/**
 * The second round's listings of both sides, side by side (unchanged.ts, secondRound). A target
 * that held its mark while its source moved is not listed: it still ends at the snapshot the mark
 * names, which is all the planner reads of a target that has snapshots, as long as the source
 * still has that snapshot or its bookmark (planReplication's base). Where it has neither, that
 * target's versions are listed after all, so that the plan says what diverged.
 */
async function listSecondRound(
  session: JobSession,
  runner: ZfsRunner,
  job: PullJobConfig,
  trees: { offered: RemoteTree; local: LocalTree },
  lists: SecondRoundLists,
  sourceWhole: Promise<RemoteTree> | null,
): Promise<{ offered: RemoteTree; local: LocalTree }> {
  const targetOf = (name: string) => `${job.root}/${name}`;
  const { source, target } = lists;
  const [offered, local] = await Promise.all([
    source === "whole" ? (sourceWhole ?? listOffered(session, job, {})) : listTree(session, { datasets: source }).then((fresh) => replaceNamed(trees.offered, fresh, source)),
    target === "whole" ? checkLocalSide(runner, job, {}).then((side) => side.local) : listTargets(runner, trees.local, target, targetOf),
  ]);
  if (target === "whole") return { offered, local };
  const relist: string[] = [];
  for (const [name, entry] of lists.targetHeld) {
    const here = local.get(targetOf(name));
    const there = offered.get(name);
    if (!here || !there) continue; // gone on a side since the first round: the listings say so
    if (there.versions.some((v) => v.guid === entry.at.guid)) local.set(targetOf(name), { dataset: here.dataset, versions: [markedVersion(targetOf(name), entry.at)] });
    else relist.push(name);
  }
  return { offered, local: relist.length > 0 ? await listTargets(runner, local, relist, targetOf) : local };
}

/** `local` (a copy) with the targets of `names` listed again, versions included. */
async function listTargets(runner: ZfsRunner, local: LocalTree, names: readonly string[], targetOf: (name: string) => string): Promise<LocalTree> {
  const targets = names.map(targetOf).filter((t) => local.has(t)) as DatasetName[];
  if (targets.length === 0) return new Map(local);
  const here = await readTree(runner, targets, { ...localOptions(), rootsOnly: true, missingRootsOk: true });
  return replaceNamed(local, here, names, targetOf);
}

/** The target's newest snapshot as its mark names it; the planner reads its name, GUID and createtxg. */
function markedVersion(target: string, at: UpToDateEntry["at"]): TreeVersion {
  return { name: versionOf(parseDatasetName(target), "snapshot", parseVersionShortName(at.name, "snapshot")), guid: at.guid, createtxg: at.createtxg, creation: 0, referenced: null, written: null };
}

/** What the server offers, narrowed by the job's filter. */
async function listOffered(session: JobSession, job: PullJobConfig, options: { versions?: boolean }): Promise<RemoteTree> {
  const identity = session.info.identity;
  const tree = await listTree(session, options);
  if (tree.size === 0) {
    throw new Error(`The server offers no filesystems to identity ${quote(identity)}: check filesystems in [clients.${identity}] of the server's config`);
  }
  const offered: RemoteTree = new Map([...tree].filter(([name]) => job.filesystems.allows(name)));
  if (offered.size === 0) {
    throw new Error(`None of the ${tree.size} filesystems the server offers matches [jobs.${job.name}] filesystems = ${job.filesystems.toString()}`);
  }
  return offered;
}

async function listTree(session: JobSession, options: { versions?: boolean; datasets?: readonly string[] }): Promise<RemoteTree> {
  try {
    return await session.remote.listTree({ ...options, columns: session.info.tree_columns === true });
  } catch (err) {
    throw new Error(explainRpcError(err, session.info.identity), { cause: err });
  }
}

/**
 * The target's listing: placeholder marks and the confined properties, so that a target they
 * already confine needs no `zfs get` after each receive (pull.ts, staysConfined); no sizes (the
 * source's estimate a send).
 */
function localOptions(): ScanTreeOptions {
  return { placeholders: true, properties: CONFINEMENT_PROPERTIES, sizes: false };
}

/** What the local side must have before anything is planned; read while the connection opens. */
async function checkLocalSide(runner: ZfsRunner, job: PullJobConfig, options: { versions?: boolean }): Promise<{ caps: ZfsCapabilities; local: LocalTree }> {
  const caps = await runner.capabilities();
  if (job.send.properties && !caps.recvExclude && !job.receive.properties) {
    throw new Error(
      `send.properties would let the source decide where received datasets are mounted: this zfs cannot keep properties out of the receive (no "zfs receive -x"); ` +
        `turn it off in [jobs.${job.name}.send], or accept them with receive = { properties = true } in [jobs.${job.name}]`,
    );
  }
  try {
    return { caps, local: await readTree(runner, job.root, { ...localOptions(), ...options }) };
  } catch (err) {
    if (err instanceof ZfsError && err.isDatasetMissing) {
      throw new Error(`The job's root ${quote(job.root)} does not exist here: create it first, e.g. "zfs create -o mountpoint=none ${job.root}"`);
    }
    throw err;
  }
}
