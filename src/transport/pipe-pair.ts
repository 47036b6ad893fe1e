/**
 * Two connection ends joined by two kernel pipes, inside one process: what one end writes the
 * other reads. A stdinserver run in the client's own process (local connect) speaks over it with
 * the same frames, and the same splice data path, as over a child's stdin/stdout.
 */
import { closeQuietly, makePipe } from "../sys/pipe.ts";
import { FdSink, FdSource } from "./fd.ts";
import type { Duplex } from "./types.ts";

/** `[a, b]`: bytes written to `a.sink` are read from `b.source`, and the other way round. */
export function pipeDuplexPair(labels: readonly [string, string]): [Duplex, Duplex] {
  const aToB = makePipe();
  let bToA;
  try {
    bToA = makePipe();
  } catch (err) {
    closeQuietly(aToB.readFd);
    closeQuietly(aToB.writeFd);
    throw err;
  }
  return [end(bToA.readFd, aToB.writeFd, labels[0]), end(aToB.readFd, bToA.writeFd, labels[1])];
}

function end(readFd: number, writeFd: number, label: string): Duplex {
  const source = new FdSource(readFd);
  const sink = new FdSink(writeFd, { closeOnEnd: true });
  let closed: Promise<void> | null = null;
  return {
    source,
    sink,
    label,
    close() {
      closed ??= (async () => {
        await sink.end().catch(() => {}); // the peer reads EOF
        source.close();
        closeQuietly(readFd);
      })();
      return closed;
    },
  };
}
