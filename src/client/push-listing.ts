/**
 * What a push plans from: the job's local filesystems and the server's copy of them (list_tree
 * with `received`), each one listing, read side by side while the connection opens. With the
 * marks of the last run (unchanged.ts), as for a pull (pull-listing.ts): datasets alone first,
 * then the versions of only what moved on either side, by name.
 */
import type { Config, PushJobConfig } from "../config/index.ts";
import { quote, readTree, type DatasetName, type TreeNode, type ZfsCapabilities, type ZfsRunner } from "../zfs/index.ts";
import { openFirstLane, type FirstLane } from "./lanes.ts";
import type { Plan } from "./plan.ts";
import type { RemoteTree } from "./remote-tree.ts";
import { closingOnFailure, explainRpcError, openedWith, withLocalChecks, type JobSession } from "./session.ts";
import { clockSeconds, listedEntry, markOf, replaceNamed, secondRound, sourceListedWhole, type UnchangedEntry, type UnchangedMarks } from "./unchanged.ts";

export interface PushSides {
  readonly first: FirstLane;
  readonly caps: ZfsCapabilities;
  /** The job's local filesystems; those to plan with their versions. */
  readonly local: Map<string, TreeNode>;
  /** What the server holds of them (below receive_root, by local name); those to plan with their versions. */
  readonly pushed: RemoteTree;
  readonly unchanged: ReadonlyMap<string, UnchangedEntry>;
  /** What to keep for the next run of a filesystem planned `plan` from its listed versions, if anything. */
  markable(name: string, plan: Plan): UnchangedEntry | null;
}

/**
 * Opens the job's first lane and lists both sides.
 * @throws Error with one line when the job cannot start (nothing to push, no receive_root, refused)
 */
export async function listPushSides(config: Config, job: PushJobConfig, runner: ZfsRunner, marks: UnchangedMarks): Promise<PushSides> {
  const datasetsFirst = marks.size > 0;
  const options = datasetsFirst ? { versions: false } : {};
  let localAt = clockSeconds();
  const opening = openedWith(openFirstLane(config, job), (lane) => listPushed(lane.session, options));
  // Where most sources moved, their whole listing follows at once, beside the server's first round.
  let sourceWhole: ReturnType<typeof checkLocalSide> | null = null;
  const localFirst = checkLocalSide(runner, job, options).then((side) => {
    if (datasetsFirst && sourceListedWhole([...side.local.keys()], marks, (name) => side.local.get(name)?.dataset)) {
      sourceWhole = checkLocalSide(runner, job, {});
      sourceWhole.catch(() => {}); // awaited by the second round; unread when the server's first round failed
    }
    return side;
  });
  const [{ caps, local: listed }, { opened: first, answer }] = await withLocalChecks(opening, localFirst);
  let trees = { local: listed, pushed: answer };
  let unchanged = new Map<string, UnchangedEntry>();
  if (datasetsFirst) {
    const { local, pushed } = trees;
    localAt = clockSeconds();
    ({ trees, unchanged } = await closingOnFailure(first, () =>
      secondRound(trees, {
        names: [...local.keys()],
        marks,
        now: { source: (name) => local.get(name)?.dataset, target: (name) => remoteDataset(pushed, name) },
        list: async ({ source, target }) => {
          // Without targetHeld both sides move together: each is listed whole, or by the same names.
          if (source === "whole" || target === "whole") {
            const [here, whole] = await Promise.all([sourceWhole ?? checkLocalSide(runner, job, {}), listPushed(first.session, {})]);
            return { local: here.local, pushed: whole };
          }
          return listChanged(first.session, runner, { local, pushed, changed: source });
        },
      }),
    ));
  }
  const { local, pushed } = trees;
  const serverAt = first.session.info.time ?? null;
  return {
    first,
    caps,
    local,
    pushed,
    unchanged,
    markable(name, plan) {
      if (plan.kind === "skip") {
        const source = markOf(local.get(name)?.dataset, localAt, { none: true });
        return source && local.get(name)?.versions.length === 0 ? { kind: "no_snapshots", source } : null;
      }
      if (plan.kind !== "up_to_date") return null;
      const source = markOf(local.get(name)?.dataset, localAt);
      const target = markOf(remoteDataset(pushed, name), serverAt);
      return source && target ? { kind: "up_to_date", source, target, at: plan.at } : null;
    },
  };
}

// --- internal ---

function remoteDataset(tree: RemoteTree, name: string) {
  return listedEntry(tree.get(name)?.entry);
}

async function listChanged(
  session: JobSession,
  runner: ZfsRunner,
  trees: { local: Map<string, TreeNode>; pushed: RemoteTree; changed: readonly string[] },
): Promise<{ local: Map<string, TreeNode>; pushed: RemoteTree }> {
  const { changed } = trees;
  const [here, remote] = await Promise.all([
    readTree(runner, changed as DatasetName[], { rootsOnly: true, missingRootsOk: true }),
    listPushed(session, { datasets: changed.filter((name) => trees.pushed.has(name)) }),
  ]);
  return { local: replaceNamed(trees.local, here, changed), pushed: replaceNamed(trees.pushed, remote, changed) };
}

/** What this client pushed before: the server's tree below its receive_root. */
async function listPushed(session: JobSession, options: { versions?: boolean; datasets?: readonly string[] }): Promise<RemoteTree> {
  const { info } = session;
  if (info.receive_root === undefined) {
    throw new Error(`The server has no receive_root for identity ${quote(info.identity)}: set receive_root in [clients.${info.identity}] of the server's config`);
  }
  if (options.datasets?.length === 0) return new Map();
  try {
    return await session.remote.listTree({ received: true, ...options, columns: session.info.tree_columns === true });
  } catch (err) {
    throw new Error(explainRpcError(err, info.identity), { cause: err });
  }
}

/** The local filesystems the job sends, with their versions, in one listing; read while the connection opens. */
async function checkLocalSide(runner: ZfsRunner, job: PushJobConfig, options: { versions?: boolean }): Promise<{ caps: ZfsCapabilities; local: Map<string, TreeNode> }> {
  const roots = job.filesystems.roots() as DatasetName[] | null;
  const [caps, all] = await Promise.all([runner.capabilities(), roots?.length === 0 ? new Map<string, TreeNode>() : readTree(runner, roots, { missingRootsOk: true, ...options })]);
  const local = new Map([...all].filter(([name]) => job.filesystems.allows(name)));
  if (local.size === 0) throw new Error(`No local filesystem matches [jobs.${job.name}] filesystems = ${job.filesystems.toString()}`);
  return { caps, local };
}
