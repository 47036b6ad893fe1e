import { expect, test } from "bun:test";
import { readSync, writeSync } from "node:fs";
import { peekPipe } from "./pipe-peek.ts";
import { closeQuietly, makePipe } from "./pipe.ts";

test("peekPipe waits for the bytes it asks for and leaves them all in the pipe for the next reader", async () => {
  const pipe = makePipe();
  try {
    writeSync(pipe.writeFd, Buffer.from("BEGIN"));
    const peeking = peekPipe(pipe.readFd, 8, { ended: () => false });
    await Bun.sleep(10); // the rest arrives later, as from a decompressor that is still starting
    writeSync(pipe.writeFd, Buffer.from("-REC and more"));
    expect(Buffer.from(await peeking).toString()).toBe("BEGIN-RE");
    const all = Buffer.alloc(64);
    expect(all.subarray(0, readSync(pipe.readFd, all)).toString()).toBe("BEGIN-REC and more");
  } finally {
    closeQuietly(pipe.readFd);
    closeQuietly(pipe.writeFd);
  }
});

test("peekPipe gives what there is once the writer has ended: a stream shorter than asked", async () => {
  const pipe = makePipe();
  try {
    writeSync(pipe.writeFd, Buffer.from("cut"));
    closeQuietly(pipe.writeFd);
    expect(Buffer.from(await peekPipe(pipe.readFd, 312, { ended: () => false })).toString()).toBe("cut");
    const empty = makePipe();
    closeQuietly(empty.writeFd);
    expect((await peekPipe(empty.readFd, 312, { ended: () => false })).length).toBe(0);
    closeQuietly(empty.readFd);
  } finally {
    closeQuietly(pipe.readFd);
  }
});
