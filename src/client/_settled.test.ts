import { expect, test } from "bun:test";
import { allSettled } from "./_settled.ts";

test("allSettled returns every value in order", async () => {
  expect(await allSettled([Promise.resolve(1), "two", Bun.sleep(5).then(() => 3)])).toEqual([1, "two", 3]);
});

test("allSettled throws the first failure only after the slower sibling settled", async () => {
  let siblingDone = false;
  const sibling = Bun.sleep(30).then(() => {
    siblingDone = true;
  });
  await expect(allSettled([Promise.reject(new Error("local zfs failed")), sibling])).rejects.toThrow("local zfs failed");
  expect(siblingDone).toBe(true);
});
