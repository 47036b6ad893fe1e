import { describe, expect, test } from "bun:test";
import { withLocalChecks, type JobSession } from "./session.ts";

function fakeSession(): JobSession & { closed: number } {
  const s = {
    closed: 0,
    async close() {
      s.closed++;
    },
  };
  return s as unknown as JobSession & { closed: number };
}

describe("withLocalChecks", () => {
  test("returns both when both succeed", async () => {
    const session = fakeSession();
    const [checked, opened] = await withLocalChecks(Promise.resolve(session), Promise.resolve(42));
    expect(checked).toBe(42);
    expect(opened).toBe(session);
    expect(session.closed).toBe(0);
  });

  test("a failed local check wins and closes the session that opened meanwhile", async () => {
    const session = fakeSession();
    const opening = Bun.sleep(20).then(() => session);
    await expect(withLocalChecks(opening, Promise.reject(new Error("no root here")))).rejects.toThrow("no root here");
    expect(session.closed).toBe(1);
  });

  test("a failed local check wins over a failed connection", async () => {
    const opening = Bun.sleep(5).then(() => Promise.reject(new Error("ssh failed")));
    await expect(withLocalChecks(opening, Promise.reject(new Error("no root here")))).rejects.toThrow("no root here");
  });

  test("a failed connection is reported once the local checks passed", async () => {
    await expect(withLocalChecks(Promise.reject(new Error("ssh failed")), Promise.resolve(1))).rejects.toThrow("ssh failed");
  });
});
