// Relay bench, sending half: frames stdin (to EOF) onto stdout with zferry's data path, then a trailer.
import { writeSync } from "node:fs";
import { encodeCbor } from "../src/rpc/index.ts";
import { setBlocking } from "../src/sys/libc.ts";
import { growPipe } from "../src/sys/pipe.ts";
import { FrameType, frameHeader, startSendPump } from "../src/wire/index.ts";

setBlocking(1);
growPipe(0);
growPipe(1);
const { bytes } = await startSendPump(0, 1).result;
const trailer = encodeCbor({ ok: true, bytes });
writeSync(1, frameHeader(FrameType.TRAILER, true, trailer.length));
writeSync(1, trailer);
process.exit(0);
