/**
 * What a job costs in zfs processes, counted by the fake zfs on both ends (one state, both sides
 * log to it): planning is one listing per side whatever the number of filesystems, and each
 * changed filesystem costs one send and one receive (issue: "a no-op of any N costs a handful,
 * an incremental of N changed filesystems at most 2N + O(1)").
 */
import { describe, expect, test } from "bun:test";
import { localJobMachine } from "./helpers/local-job.ts";

const N = 24;
const names = Array.from({ length: N }, (_, i) => `tank/w/f${String(i).padStart(2, "0")}`);
/**
 * Per-run fixed cost: the capability probe (one per process: local connect serves in the job's),
 * the listings, one datasets-only listing per further worker session, the final check.
 */
const FIXED = 12;

function kinds(calls: string[][]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) out[c[0]!] = (out[c[0]!] ?? 0) + 1;
  return out;
}

describe("zfs processes per job, fake OpenZFS on both ends", () => {
  test.each([1, 4])("pull of %i at a time: full 2N + O(1), no-op O(1), incremental 2N + O(1)", async (concurrency) => {
    using machine = localJobMachine({ datasets: [...names.map((n) => `${n}@s1`), "backup/pull"], extra: `[jobs.wide]\ntype = "pull"\nconnect = { type = "local", identity = "b1" }\nroot = "backup/pull"\nfilesystems = { "tank/w<" = true }\nconcurrency = ${concurrency}\n` });
    const count = async (args: string[]) => {
      const before = machine.fake.calls().length;
      const run = await machine.zferry(args);
      expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({ exitCode: 0, stderr: "" });
      return machine.fake.calls().slice(before);
    };

    const full = await count(["pull", "wide"]);
    expect(kinds(full)).toMatchObject({ send: N, receive: N });
    expect(full.length).toBeLessThanOrEqual(2 * N + FIXED);
    for (const n of names) expect(machine.fake.state().datasets[`backup/pull/${n}`]?.snapshots.s1).toBeDefined();
    // Sizes estimate a send: the source's listing has them, the target's does not ask zfs for them.
    const columnsOf = (root: string) => full.find((c) => c[0] === "list" && c.at(-1)?.startsWith(root))?.find((_, i, c) => c[i - 1] === "-o")?.split(",");
    expect(columnsOf("tank")).toEqual(expect.arrayContaining(["referenced", "written"]));
    expect(columnsOf("backup/pull")).toEqual(expect.arrayContaining(["guid", "createtxg", "creation"]));
    expect(columnsOf("backup/pull")).not.toContain("written");
    expect(columnsOf("backup/pull")).not.toContain("referenced");
    // The session that listed the tree read each dataset's encryption in that listing, and local
    // connect's workers share what a job's sessions may: nothing lists the source's tree again.
    expect(full.filter((c) => c.at(-1) === "tank")).toHaveLength(1);

    const noop = await count(["pull", "wide"]);
    expect(noop.filter((c) => c[0] === "send" || c[0] === "receive")).toEqual([]);
    expect(noop.length).toBeLessThanOrEqual(6);

    for (const n of names) await Bun.$`${machine.fake.bin} snapshot ${n}@s2 ${n}@s3`.quiet();
    const incremental = await count(["pull", "wide"]);
    expect(kinds(incremental)).toMatchObject({ send: N, receive: N }); // s2 and s3 in one -I stream each
    expect(incremental.filter((c) => c[0] === "send").every((c) => c.includes("-I"))).toBe(true);
    expect(incremental.length).toBeLessThanOrEqual(2 * N + FIXED);
    for (const n of names) expect(Object.keys(machine.fake.state().datasets[`backup/pull/${n}`]!.snapshots).sort()).toEqual(["s1", "s2", "s3"]);
  });
});
