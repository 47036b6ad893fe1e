/**
 * Where a Worker entry lives, both when run from source and inside a `bun build --compile` binary.
 * In a binary every module is bundled into the main entry (so `import.meta.url` of the caller is
 * the binary's), while each extra entry point keeps its path relative to the entries' common
 * folder, src/, under /$bunfs/root/. `npm run build` lists every worker entry for that reason.
 */
const BUNFS_ROOT = "file:///$bunfs/root/";

/**
 * @param callerUrl `import.meta.url` of the calling module
 * @param relative the worker's path relative to the caller, e.g. "./read-worker.ts"
 * @param fromSrc the same file's path relative to src/, e.g. "transport/read-worker.ts"
 */
export function workerUrl(callerUrl: string, relative: string, fromSrc: string): string {
  return callerUrl.startsWith(BUNFS_ROOT) ? new URL(fromSrc, BUNFS_ROOT).href : new URL(relative, callerUrl).href;
}
