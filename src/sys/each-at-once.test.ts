import { expect, test } from "bun:test";
import { eachAtOnce } from "./each-at-once.ts";

/** Runs `eachAtOnce` over 0..n-1 with items that take `ms` each; records the most running at once and the order they started. */
async function observe(n: number, workers: number, fail?: number) {
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const ended: number[] = [];
  const result = await eachAtOnce(
    Array.from({ length: n }, (_, i) => i),
    workers,
    async (i) => {
      started.push(i);
      most = Math.max(most, ++running);
      await Bun.sleep(5);
      running--;
      ended.push(i);
      if (i === fail) throw new Error(`item ${i} failed`);
    },
  ).then(
    () => null,
    (e: unknown) => e,
  );
  return { most, started, ended, result };
}

test.each([
  [10, 4, 4],
  [3, 4, 3],
  [5, 1, 1],
  [0, 4, 0],
])("%i items, %i workers: every item once, in order, at most %i at a time", async (n, workers, most) => {
  const seen = await observe(n, workers);
  expect(seen).toEqual({ most, started: Array.from({ length: n }, (_, i) => i), ended: expect.any(Array), result: null });
  expect(seen.ended.sort((a, b) => a - b)).toEqual(seen.started);
});

test("the first failure starts nothing more and is thrown once the running items have ended", async () => {
  const seen = await observe(20, 4, 1);
  expect((seen.result as Error).message).toBe("item 1 failed");
  expect(seen.started.length).toBeLessThan(20);
  expect(seen.ended.sort((a, b) => a - b)).toEqual(seen.started.sort((a, b) => a - b));
});
