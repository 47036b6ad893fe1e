/**
 * `npm run bench`: every figure, one table. Run it on an otherwise idle machine; each figure
 * alternates zferry and its baseline, so the ratio holds even when absolute numbers drift.
 * BENCH_GIB (default 2) sets the stream size, BENCH_RUNS (default 5) the runs per subject.
 * `npm run bench -- wan [--quick]` runs the slow-link figures alone (they are not in the full run:
 * a 2 GiB stream through a 100 MB/s link takes a while per run); `npm run bench -- scale [--quick]`
 * the wide-tree figures (thousands of filesystems); `npm run bench -- cycle` the backup cycle on a
 * wide tree. Like the test suite, it first installs or starts
 * what it needs on this host (zfs-fuse, OpenSSH, zstd; test/provision/host.ts).
 */
import { provisionHost } from "../test/provision/host.ts";
import { codecFigures } from "./codec.ts";
import { printFigure, printHeader } from "./lib.ts";
import { memoryFigures, pullLocalFigure, pullSshFigures } from "./pull.ts";
import { relayFigures } from "./relay.ts";
import { startFigures } from "./start.ts";

// The OpenZFS bench provisions the guest's packages itself (test/openzfs/guest.ts).
if (process.argv[2] !== "openzfs") await provisionHost({ openzfs: false });

// `npm run bench -- wan [--quick]`: only the slow-link figures (bench/wan.ts).
if (process.argv[2] === "wan") {
  const { wanBench } = await import("./wan.ts");
  await wanBench();
  process.exit(0);
}

// `npm run bench -- scale [--quick]`: wide trees (bench/scale.ts).
if (process.argv[2] === "scale") {
  const { scaleBench } = await import("./scale.ts");
  await scaleBench();
  process.exit(0);
}

// `npm run bench -- cycle`: the backup cycle on a wide tree (bench/cycle.ts).
if (process.argv[2] === "cycle") {
  const { cycleBench } = await import("./cycle.ts");
  await cycleBench();
  process.exit(0);
}

// `npm run bench -- openzfs`: a wide tree on real OpenZFS in the test guest (bench/openzfs.ts).
if (process.argv[2] === "openzfs") {
  const { openzfsBench } = await import("./openzfs.ts");
  await openzfsBench();
  process.exit(0);
}

printHeader("zferry bench (`npm run bench`)");
for (const f of await codecFigures()) printFigure(f);
for (const f of await relayFigures()) printFigure(f);
printFigure(await pullLocalFigure());
for (const f of await pullSshFigures()) printFigure(f);
for (const f of await startFigures()) printFigure(f);
process.stdout.write("\n| memory | the job's process (client and local stdinserver) | rate |\n|---|---|---|\n");
for (const line of await memoryFigures()) process.stdout.write(`${line}\n`);
