import { describe, expect, test } from "bun:test";
import { runTree, type LaneSource } from "./parallel-tree.ts";

interface Lane {
  readonly id: number;
  broken: Error | null;
}

/** Lanes numbered from 0; after `openable` lanes were opened, opening fails. */
function lanes(options: { openable?: number } = {}): LaneSource<Lane> & { opened: Lane[] } {
  const opened: Lane[] = [];
  const first: Lane = { id: 0, broken: null };
  return {
    first,
    opened,
    async open() {
      if (opened.length >= (options.openable ?? Infinity)) throw new Error("Connection refused");
      const lane = { id: opened.length + 1, broken: null };
      opened.push(lane);
      return lane;
    },
    broken: (lane) => lane.broken,
  };
}

const task = (name: string) => ({ name });

describe("runTree", () => {
  test("a parent finishes before any of its children starts; unrelated trees run side by side", async () => {
    const events: string[] = [];
    let running = 0;
    let peak = 0;
    const tasks = ["a", "a/x", "a/x/deep", "a/y", "b", "c/z"].map(task);
    await runTree(tasks, { concurrency: 3, lanes: lanes() }, async (t) => {
      events.push(`start ${t.name}`);
      peak = Math.max(peak, ++running);
      await Bun.sleep(t.name === "a" ? 30 : 5);
      running--;
      events.push(`end ${t.name}`);
    }, () => expect.unreachable());
    const at = (e: string) => events.indexOf(e);
    expect(at("end a")).toBeLessThan(at("start a/x"));
    expect(at("end a")).toBeLessThan(at("start a/y"));
    expect(at("end a/x")).toBeLessThan(at("start a/x/deep"));
    expect(at("start b")).toBeLessThan(at("end a")); // b does not wait for a
    expect(at("start c/z")).toBeLessThan(at("end a")); // c is not a task: c/z waits for nothing
    expect(peak).toBe(3);
  });

  test("one parent of many children: once it is done, its children run `concurrency` at a time", async () => {
    // All workers look for work in the same tick the first takes the parent; none may give up then.
    let running = 0;
    let peak = 0;
    const l = lanes();
    const tasks = ["w", ...Array.from({ length: 8 }, (_, i) => `w/f${i}`)].map(task);
    await runTree(tasks, { concurrency: 4, lanes: l }, async () => {
      peak = Math.max(peak, ++running);
      await Bun.sleep(5);
      running--;
    }, () => expect.unreachable());
    expect(peak).toBe(4);
    expect(l.opened.length).toBe(3);
  });

  test("concurrency 1 runs in name order, on the first lane only", async () => {
    const order: string[] = [];
    const l = lanes();
    await runTree(["b", "a/x", "a"].map(task), { concurrency: 1, lanes: l }, async (t, lane) => {
      expect(lane.id).toBe(0);
      order.push(t.name);
    }, () => expect.unreachable());
    expect(order).toEqual(["a", "a/x", "b"]);
    expect(l.opened).toEqual([]);
  });

  test("each worker keeps its lane; lanes are opened only when there is work for them", async () => {
    const l = lanes();
    const used = new Map<string, number>();
    await runTree(["a", "b"].map(task), { concurrency: 4, lanes: l }, async (t, lane) => {
      used.set(t.name, lane.id);
      await Bun.sleep(5);
    }, () => expect.unreachable());
    expect(l.opened.length).toBe(1); // two tasks: two workers, not four
    expect(new Set(used.values())).toEqual(new Set([0, 1]));
  });

  test("a lane that cannot be opened stops its worker only; the others do the work", async () => {
    const done: string[] = [];
    const stopped: [string, number][] = [];
    const workerStopped = (why: Error, left: number) => void stopped.push([why.message, left]);
    await runTree(["a", "b", "c", "d"].map(task), { concurrency: 4, lanes: lanes({ openable: 1 }), workerStopped }, async (t) => {
      await Bun.sleep(2);
      done.push(t.name);
    }, () => expect.unreachable());
    expect(done.sort()).toEqual(["a", "b", "c", "d"]);
    expect(stopped).toEqual([["Connection refused", 3], ["Connection refused", 2]]);
  });

  test("when every lane broke, what is left is handed back with the reason", async () => {
    const l = lanes({ openable: 0 });
    const orphaned: [string, string | undefined][] = [];
    const stopped: [string, number][] = [];
    const workerStopped = (why: Error, left: number) => void stopped.push([why.message, left]);
    await runTree(["a", "a/x", "b"].map(task), { concurrency: 2, lanes: l, workerStopped }, async (_t, lane) => {
      lane.broken = new Error("connection reset");
    }, (t, why) => orphaned.push([t.name, why?.message]));
    expect(orphaned).toEqual([["a/x", "connection reset"], ["b", "connection reset"]]);
    expect(stopped.map(([, left]) => left).sort()).toEqual([0, 1]);
  });

  test("stopping hands back what has not started", async () => {
    let stop = false;
    const orphaned: string[] = [];
    await runTree(["a", "b", "c"].map(task), { concurrency: 1, lanes: lanes(), stopped: () => stop }, async () => {
      stop = true;
    }, (t) => orphaned.push(t.name));
    expect(orphaned).toEqual(["b", "c"]);
  });
});
