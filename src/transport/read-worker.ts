/**
 * Worker entry behind FdSource: performs one blocking read at a time, exactly as large as the main
 * thread asked, so nothing is read ahead. Bun's async fs.read would park a threadpool thread on an
 * empty pipe, and the pool here has about two: two idle connections would stall every other async
 * fs call in the process (measured).
 */
import { readSync } from "node:fs";
import { EINTR, POLLIN, errno, libc } from "../sys/libc.ts";

declare const self: Worker;

export interface ReadRequest {
  fd: number;
  max: number;
  /** Int32 slot 0 set to 1 by the main thread: give up waiting and answer `cancelled`. */
  cancel: Int32Array;
}
export type ReadReply = { n: number; bytes?: Uint8Array; cancelled?: true } | { error: string; code?: string };

const POLL_SLICE_MS = 200;

self.onmessage = (event: MessageEvent<ReadRequest>) => {
  const { fd, max, cancel } = event.data;
  try {
    const lib = libc();
    if (lib) {
      const pfd = new Int32Array([fd, POLLIN]);
      for (;;) {
        if (Atomics.load(cancel, 0) === 1) return self.postMessage({ n: 0, cancelled: true } satisfies ReadReply);
        const r = lib.poll(pfd, 1, POLL_SLICE_MS);
        if (r > 0) break;
        if (r < 0 && errno(lib) !== EINTR) break; // let readSync report it
      }
    }
    const bytes = new Uint8Array(max);
    const n = readSync(fd, bytes, 0, max, null);
    self.postMessage({ n, bytes } satisfies ReadReply, [bytes.buffer]);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    self.postMessage({ error: e.message, code: e.code } satisfies ReadReply);
  }
};
