/**
 * Like Promise.all, but waits for every promise to settle before throwing the first failure. A job
 * runs one RPC call at a time, so a call still in flight when its sibling failed would make the
 * next call fail as a concurrent one.
 */
export async function allSettled<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> | T[K] }): Promise<T> {
  const settled = await Promise.allSettled(promises as readonly unknown[]);
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
