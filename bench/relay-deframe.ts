// Relay bench, receiving half: reads DATA frames from stdin into stdout until the trailer.
import { setBlocking } from "../src/sys/libc.ts";
import { growPipe } from "../src/sys/pipe.ts";
import { FrameType, startReceivePump } from "../src/wire/index.ts";

setBlocking(1);
growPipe(0);
growPipe(1);
const result = await startReceivePump(0, new Uint8Array(0), 1, { idleTimeoutMs: 60_000, onSinkError: (m) => console.error(m) }).result;
if (result.end.type !== FrameType.TRAILER) throw new Error("stream did not end with a trailer");
process.stderr.write(`deframed ${result.bytes} bytes\n`);
process.exit(0);
