/**
 * Runs one task per filesystem on up to `lanes` workers, a parent before its children: a child
 * starts only once the nearest of its ancestors in the set has finished (whatever its outcome; a
 * child whose parent failed still gets its own try and its own reason). Each worker owns a lane
 * (a connection): the first is given, the others are opened when first needed, and a lane that
 * cannot be opened or breaks just stops its worker, so the job goes on with fewer.
 */

export interface LaneSource<L> {
  /** The lane the job already has (its first connection). */
  readonly first: L;
  /** Opens another lane; a failure stops that worker only. */
  open(): Promise<L>;
  /** The lane's failure once it broke (a call on it would fail at once), else null. */
  broken(lane: L): Error | null;
}

export interface TreeTask {
  /** The filesystem's name on the sending side; `a/b` waits for `a` when both are tasks. */
  readonly name: string;
}

/**
 * Runs `run(task, lane)` for every task, `concurrency` at a time at most. Never rejects: `run`
 * reports its own failures; tasks no worker could take (every lane broke) go to `orphaned`.
 */
export async function runTree<T extends TreeTask, L>(
  tasks: readonly T[],
  options: { concurrency: number; lanes: LaneSource<L>; stopped?: () => boolean },
  run: (task: T, lane: L) => Promise<void>,
  orphaned: (task: T, why: Error | null) => void,
): Promise<void> {
  const byName = new Map(tasks.map((t) => [t.name, t]));
  const waiting = new Map<string, T[]>(); // parent name → children blocked on it
  const ready: T[] = [];
  for (const task of [...tasks].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const parent = nearestAncestor(task.name, byName);
    if (parent === null) ready.push(task);
    else waiting.set(parent, [...(waiting.get(parent) ?? []), task]);
  }
  let running = 0;
  let lastBreak: Error | null = null;
  const wake = new Set<() => void>();
  const notify = () => {
    for (const w of [...wake]) w();
  };
  const release = (name: string) => {
    const children = waiting.get(name);
    waiting.delete(name);
    if (children) ready.push(...children);
    ready.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    notify();
  };
  /** The next task, or null when none is left for this worker (all done, or stopped). */
  const next = async (): Promise<T | null> => {
    for (;;) {
      if (options.stopped?.()) return null;
      const task = ready.shift();
      if (task) {
        // Counted as it is taken: a worker that looks in the same tick must see it running, or it
        // would find nothing ready and nothing running, and stop (leaving the children to one worker).
        running++;
        return task;
      }
      if (running === 0) return null; // nothing runs that could release a waiting child
      await new Promise<void>((resolve) => {
        const w = () => {
          wake.delete(w);
          resolve();
        };
        wake.add(w);
      });
    }
  };
  const worker = async (lane: L | null): Promise<void> => {
    let current = lane;
    for (;;) {
      const task = await next();
      if (!task) return;
      try {
        if (current === null) {
          try {
            current = await options.lanes.open();
          } catch (err) {
            lastBreak = err as Error;
            ready.unshift(task); // another worker takes it
            return;
          }
        }
        const broke = options.lanes.broken(current);
        if (broke) {
          lastBreak = broke;
          ready.unshift(task);
          return;
        }
        await run(task, current);
      } finally {
        running--;
        if (!ready.includes(task)) release(task.name);
        else notify();
      }
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency, tasks.length));
  await Promise.all(Array.from({ length: workers }, (_, i) => worker(i === 0 ? options.lanes.first : null)));
  // Left over: every lane broke, or the job was stopped. Children wait on nothing any more.
  const left = [...ready, ...[...waiting.values()].flat()];
  for (const task of left.sort((a, b) => (a.name < b.name ? -1 : 1))) orphaned(task, lastBreak);
}

/** The nearest ancestor of `name` among the tasks, or null. */
function nearestAncestor(name: string, tasks: ReadonlyMap<string, unknown>): string | null {
  for (let i = name.lastIndexOf("/"); i > 0; i = name.lastIndexOf("/", i - 1)) {
    const parent = name.slice(0, i);
    if (tasks.has(parent)) return parent;
  }
  return null;
}
