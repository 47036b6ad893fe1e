/**
 * The whole tree type-checks (`npm run typecheck`, tsconfig.json: strict, no unused locals). Bun
 * runs TypeScript without checking it, so without this a type error or a dead import only shows
 * when someone runs tsc by hand.
 */
import { expect, test } from "bun:test";
import { resolve } from "node:path";

const REPO = resolve(import.meta.dir, "..");

test("tsc finds no type errors", async () => {
  await using tsc = Bun.spawn([resolve(REPO, "node_modules/.bin/tsc"), "--noEmit", "-p", REPO], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([tsc.stdout.text(), tsc.stderr.text(), tsc.exited]);
  expect(`${out}${err}`).toBe("");
  expect(code).toBe(0);
}, 120_000);
