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
  options: {
    concurrency: number;
    lanes: LaneSource<L>;
    stopped?: () => boolean;
    /** A worker stopped because its lane could not be opened or broke; `left` workers go on. */
    workerStopped?: (why: Error, left: number) => void;
  },
  run: (task: T, lane: L) => Promise<void>,
  orphaned: (task: T, why: Error | null) => void,
): Promise<void> {
  const byName = new Map(tasks.map((t) => [t.name, t]));
  const waiting = new Map<string, T[]>(); // parent name → children blocked on it
  const roots: T[] = [];
  for (const task of tasks) {
    const parent = nearestAncestor(task.name, byName);
    if (parent === null) roots.push(task);
    else if (waiting.has(parent)) waiting.get(parent)!.push(task);
    else waiting.set(parent, [task]);
  }
  const ready = new ReadyQueue<T>(roots);
  let running = 0;
  let lastBreak: Error | null = null;
  const wake = new Set<() => void>();
  const notify = () => {
    for (const w of [...wake]) w();
  };
  const release = (name: string) => {
    const children = waiting.get(name);
    waiting.delete(name);
    for (const child of children ?? []) ready.add(child);
    notify();
  };
  /** The next task, or null when none is left for this worker (all done, or stopped). */
  const next = async (): Promise<T | null> => {
    for (;;) {
      if (options.stopped?.()) return null;
      const task = ready.take();
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
  /** Workers still running; each stops when its lane cannot be opened or broke. */
  let workers = Math.max(1, Math.min(options.concurrency, tasks.length));
  const stop = (why: Error) => {
    lastBreak = why;
    workers--;
    if (!options.stopped?.()) options.workerStopped?.(why, workers);
  };
  const worker = async (lane: L | null): Promise<void> => {
    let current = lane;
    for (;;) {
      const task = await next();
      if (!task) return;
      let handedBack = false;
      try {
        if (current === null) {
          try {
            current = await options.lanes.open();
          } catch (err) {
            handedBack = true;
            ready.putBack(task); // another worker takes it
            return stop(err as Error);
          }
        }
        const broke = options.lanes.broken(current);
        if (broke) {
          handedBack = true;
          ready.putBack(task);
          return stop(broke);
        }
        await run(task, current);
      } finally {
        running--;
        if (!handedBack) release(task.name);
        else notify();
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, i) => worker(i === 0 ? options.lanes.first : null)));
  // Left over: every lane broke, or the job was stopped. Children wait on nothing any more.
  const left = [...ready.all(), ...[...waiting.values()].flat()];
  for (const task of left.sort((a, b) => (a.name < b.name ? -1 : 1))) orphaned(task, lastBreak);
}

/**
 * Tasks ready to run, taken in name order. Kept sorted backwards so that taking the next one is a
 * pop: a tree of thousands of filesystems makes thousands of takes and releases.
 */
class ReadyQueue<T extends TreeTask> {
  readonly #tasks: T[];

  constructor(tasks: readonly T[]) {
    this.#tasks = [...tasks].sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
  }

  /** Adds a task in its place by name. */
  add(task: T): void {
    const tasks = this.#tasks;
    let lo = 0;
    let hi = tasks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (tasks[mid]!.name > task.name) lo = mid + 1;
      else hi = mid;
    }
    tasks.splice(lo, 0, task);
  }

  /** The task with the smallest name, or undefined. */
  take(): T | undefined {
    return this.#tasks.pop();
  }

  /** Returns a task just taken, first in line again. */
  putBack(task: T): void {
    this.#tasks.push(task);
  }

  all(): T[] {
    return [...this.#tasks].reverse();
  }
}

/** The nearest ancestor of `name` among the tasks, or null. */
function nearestAncestor(name: string, tasks: ReadonlyMap<string, unknown>): string | null {
  for (let i = name.lastIndexOf("/"); i > 0; i = name.lastIndexOf("/", i - 1)) {
    const parent = name.slice(0, i);
    if (tasks.has(parent)) return parent;
  }
  return null;
}
