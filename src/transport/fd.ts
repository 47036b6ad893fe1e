/**
 * Sources and sinks over file descriptors. The fd stays blocking, so a data pump may later use it
 * synchronously. Reads happen in a Worker of their own (read-worker.ts) and are exact to what is
 * asked: nothing is read ahead, so an fd can be handed to a data pump between two frames without
 * losing bytes. Writes use Bun's async `writev`; the frame writer keeps at most one in flight.
 */
import { close, writev } from "node:fs";
import { workerUrl } from "../sys/worker-url.ts";
import type { ReadReply, ReadRequest } from "./read-worker.ts";
import type { ByteSink, ByteSource } from "./types.ts";

/**
 * Read workers are pooled for the whole process and never terminated: a read takes an idle one
 * and gives it back. Terminating a Worker could hang the process (seen here with Bun 1.4.4: the
 * worker's event loop spun on epoll_pwait2 failing with EINVAL while terminate() waited for it,
 * both threads at 100% CPU), and the pool also saves a worker start per connection.
 */
const idleReaders: Worker[] = [];

export class FdSource implements ByteSource {
  readonly fd: number;
  readonly #cancel = new Int32Array(new SharedArrayBuffer(4));
  #busy = false;

  constructor(fd: number) {
    this.fd = fd;
  }

  /** Reads up to `buf.length` bytes; 0 at EOF or after `close()`. One read at a time. */
  read(buf: Uint8Array): Promise<number> {
    if (this.#busy) return Promise.reject(new Error("FdSource: a read is already pending"));
    if (Atomics.load(this.#cancel, 0) === 1) return Promise.resolve(0);
    this.#busy = true;
    const worker = idleReaders.pop() ?? new Worker(workerUrl(import.meta.url, "./read-worker.ts", "transport/read-worker.ts"));
    worker.ref();
    return new Promise<number>((resolve, reject) => {
      const done = () => {
        this.#busy = false;
        worker.onmessage = null;
        worker.onerror = null;
        worker.unref();
      };
      worker.onmessage = (event: MessageEvent<ReadReply>) => {
        done();
        idleReaders.push(worker);
        const reply = event.data;
        if ("error" in reply) return reject(Object.assign(new Error(reply.error), { code: reply.code }));
        if (reply.bytes) buf.set(reply.bytes.subarray(0, reply.n));
        resolve(reply.n);
      };
      worker.onerror = (event) => {
        done(); // a broken worker is not returned to the pool
        reject(new Error(`The read worker failed: ${event.message}`));
      };
      worker.postMessage({ fd: this.fd, max: buf.length, cancel: this.#cancel } satisfies ReadRequest);
    });
  }

  /** Ends a pending read with 0 (within the worker's 200 ms poll slice) and every later one; the fd is the owner's to close. */
  close(): void {
    Atomics.store(this.#cancel, 0, 1);
  }
}

export class FdSink implements ByteSink {
  readonly fd: number;
  readonly #closeOnEnd: boolean;
  #ended = false;
  /** Writes run one after another, so concurrent callers never interleave bytes. */
  #tail: Promise<void> = Promise.resolve();
  constructor(fd: number, options: { closeOnEnd?: boolean } = {}) {
    this.fd = fd;
    this.#closeOnEnd = options.closeOnEnd ?? false;
  }

  write(chunks: readonly Uint8Array[]): Promise<void> {
    const next = this.#tail.then(() => this.#writeAll(chunks));
    this.#tail = next.catch(() => {});
    return next;
  }

  async #writeAll(chunks: readonly Uint8Array[]): Promise<void> {
    let pending = chunks.filter((c) => c.length > 0);
    while (pending.length > 0) {
      const n = await new Promise<number>((resolve, reject) => {
        writev(this.fd, pending as Uint8Array[], null, (err, written) => (err ? reject(err) : resolve(written)));
      });
      pending = dropWritten(pending, n);
    }
  }

  async end(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    await this.#tail; // never close the fd under a write in flight
    if (this.#closeOnEnd) await new Promise<void>((resolve) => close(this.fd, () => resolve()));
  }
}

/** Drops the first `n` bytes from a list of chunks (after a partial writev). */
export function dropWritten(chunks: readonly Uint8Array[], n: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  let skip = n;
  for (const c of chunks) {
    if (skip >= c.length) {
      skip -= c.length;
      continue;
    }
    rest.push(skip > 0 ? c.subarray(skip) : c);
    skip = 0;
  }
  return rest;
}
