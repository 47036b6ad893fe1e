/**
 * The process's own stdin/stdout: what `stdinserver` speaks on under sshd.
 *
 * fd 1 is written only through FdSink (async `writev`) and by the data pump (`writeSync`/splice).
 * `process.stdout.write` and `Bun.stdout.writer()` are never used: both turn fd 1 non-blocking
 * and buffer without bound. Some libraries touch `process.stdout` at import (consola's full entry
 * does), which has the same effect, so the flags are reset to blocking here.
 *
 * Where stdin/stdout are pipes (sshd's, a shell's), they are enlarged to 1 MiB like every pipe
 * zferry makes: at the default 64 KiB, writer and reader take turns instead of overlapping.
 */
import { setBlocking } from "../sys/libc.ts";
import { growPipe } from "../sys/pipe.ts";
import { FdSink, FdSource } from "./fd.ts";
import type { Duplex } from "./types.ts";

export function stdioDuplex(): Duplex {
  for (const fd of [0, 1]) {
    setBlocking(fd);
    growPipe(fd);
  }
  return {
    source: new FdSource(0),
    sink: new FdSink(1),
    label: "stdio",
    async close() {},
  };
}
