/**
 * Figure: start-up. Time from spawning the compiled `dist/zferry stdinserver` to a completed
 * handshake (its line received), against spawning `true` to its exit. Median of BENCH_STARTS (15).
 * Needs `npm run build` first.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RpcConnection } from "../src/rpc/index.ts";
import { spawnChildDuplex } from "../src/transport/index.ts";
import { REPO, median, printFigure, printHeader, type Figure } from "./lib.ts";

export async function startFigures(): Promise<Figure[]> {
  const bin = join(REPO, "dist/zferry");
  if (!existsSync(bin)) throw new Error("dist/zferry is missing: run `npm run build` first");
  const dir = mkdtempSync(join(tmpdir(), "zferry-start-"));
  const config = join(dir, "z.toml");
  writeFileSync(config, `[clients.bench]\nfilesystems = { "tank<" = true }\n`);
  const n = Number(process.env.BENCH_STARTS ?? 15);
  const ours: number[] = [];
  const base: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      let t0 = performance.now();
      const p = Bun.spawn(["true"]);
      await p.exited;
      base.push(performance.now() - t0);
      t0 = performance.now();
      const child = spawnChildDuplex([bin, "stdinserver", "bench", "--config", config], { label: "bench" });
      const conn = await RpcConnection.open(child, { software: "zferry/bench" });
      ours.push(performance.now() - t0);
      await conn.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return [{ name: "start: spawn compiled stdinserver → handshake done (spawn `true` baseline)", zferry: median(ours), baseline: median(base), unit: "ms", note: `median of ${n}` }];
}

if (import.meta.main) {
  printHeader("Start-up of the compiled binary");
  for (const f of await startFigures()) printFigure(f);
}
