/**
 * Which compression a job's streams travel with, agreed once per run from the job's `compression`,
 * its send flags and what the server's `info` offers.
 *
 * - Raw (`-w`) and compressed (`-c`) sends carry blocks as they are on disk: encrypted blocks do
 *   not compress and compressed ones barely, so zstd would only cost CPU on both ends. They go
 *   uncompressed unless the job says `force = true`.
 * - A server that cannot compress (or predates compression, whose `info` has no `compression`) is
 *   an error by default: the job asked for it, and a link sized for compressed streams may not
 *   carry the plain ones. `fallback = "none"` sends uncompressed instead, with a line saying so.
 * - This host needs zstd too: it decompresses what it pulls and compresses what it pushes.
 */
import type { InfoResponse, WireSendFlag } from "../api/index.ts";
import type { JobConfig } from "../config/index.ts";
import { availableCompression, type WireCompression } from "../zfs/index.ts";

/**
 * The compression for every stream of this run, or null for none.
 * @throws Error with one line when the job insists and one side cannot
 */
export function agreeCompression(
  job: JobConfig,
  options: { info: InfoResponse; flags: readonly WireSendFlag[]; note: (text: string) => void },
): WireCompression | null {
  const c = job.compression;
  if (c.type === "none") return null;
  const { info, flags, note } = options;
  const onDisk = flags.filter((f) => f === "raw" || f === "compressed");
  if (onDisk.length > 0 && !c.force) {
    note(`${job.type} ${job.name}: no wire compression: ${onDisk.join(" and ")} sends carry on-disk blocks (set force = true in compression to compress them anyway)`);
    return null;
  }
  const missing = !(info.compression ?? []).includes(c.type) ? "the server" : !availableCompression().includes(c.type) ? "this host" : null;
  if (missing === null) return { type: c.type, level: c.level, threads: c.threads };
  const why = `compression ${JSON.stringify(c.type)} is not available on ${missing}${missing === "the server" ? ` (identity ${JSON.stringify(info.identity)})` : ""}`;
  if (c.fallback === "none") {
    note(`${job.type} ${job.name}: ${why}: sending uncompressed (fallback = "none")`);
    return null;
  }
  throw new Error(`${why}: install zstd there (Debian: apt install zstd), or allow uncompressed streams with compression = { type = "${c.type}", fallback = "none" } in [jobs.${job.name}]`);
}
