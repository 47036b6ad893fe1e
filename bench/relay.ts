/**
 * Figure: relay. A child produces N bytes → zferry frames them → OS pipe → zferry deframes them →
 * `cat > /dev/null`; baseline: the same shape with `cat` in both middle places. Runs the splice
 * path and the copy path (ZFERRY_COPY=1). `bun bench/relay.ts` (BENCH_GIB, BENCH_RUNS).
 */
import { BUN, REPO, benchBytes, compareThroughput, printFigure, printHeader, timeShell } from "./lib.ts";

export async function relayFigures(bytes = benchBytes()) {
  const src = `head -c ${bytes} /dev/zero`;
  const baseline = () => timeShell(`${src} | cat | cat | cat > /dev/null`);
  const zferry = (copy: boolean) => () =>
    timeShell(`${src} | ${BUN} ${REPO}/bench/relay-frame.ts | ${BUN} ${REPO}/bench/relay-deframe.ts | cat > /dev/null`, copy ? { ZFERRY_COPY: "1" } : {});
  return [
    await compareThroughput("relay, splice (cat chain baseline)", bytes, zferry(false), baseline),
    await compareThroughput("relay, copy loop, ZFERRY_COPY=1 (cat chain baseline)", bytes, zferry(true), baseline),
  ];
}

if (import.meta.main) {
  printHeader("Relay: head → frame → pipe → deframe → cat");
  for (const f of await relayFigures()) printFigure(f);
}
