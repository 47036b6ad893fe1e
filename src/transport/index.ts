/**
 * transport: bytes in, bytes out. The process's stdio, a child process's pipes (ssh), a pair of
 * pipes inside the process (a local stdinserver), and an in-memory pair for tests. Knows nothing
 * of frames.
 */
export { spawnChildDuplex, type ChildDuplex } from "./child.ts";
export { FdSink, FdSource } from "./fd.ts";
export { ChunkQueue, memoryPair, type MemoryPairOptions } from "./memory.ts";
export { pipeDuplexPair } from "./pipe-pair.ts";
export { stdioDuplex } from "./stdio.ts";
export type { ByteSink, ByteSource, Duplex, ServerDuplex } from "./types.ts";
