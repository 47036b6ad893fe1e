/** Two connected Duplexes over two real OS pipes in this process: exercises the fd data path. */
import { FdSink, FdSource, type Duplex } from "../../src/transport/index.ts";
import { closeQuietly, makePipe } from "../../src/sys/pipe.ts";

export function pipePair(): [Duplex, Duplex] {
  const ab = makePipe();
  const ba = makePipe();
  const end = (label: string, readFd: number, writeFd: number): Duplex => {
    const sink = new FdSink(writeFd, { closeOnEnd: true });
    const source = new FdSource(readFd);
    let closed = false;
    return {
      source,
      sink,
      label,
      async close() {
        if (closed) return;
        closed = true;
        await sink.end();
        source.close();
      },
    };
  };
  const a = end("pipe A", ba.readFd, ab.writeFd);
  const b = end("pipe B", ab.readFd, ba.writeFd);
  return [a, b];
}

/** Closes the read ends left open by pipePair (the write ends close with `close()`). */
export function closePipeReadEnds(a: Duplex, b: Duplex): void {
  closeQuietly(a.source.fd!);
  closeQuietly(b.source.fd!);
}
