import { describe, expect, test } from "bun:test";
import { fstatSync } from "node:fs";
import { pipeDuplexPair } from "./pipe-pair.ts";
import type { ByteSource } from "./types.ts";

async function readAll(source: ByteSource): Promise<string> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(4096);
  for (let n = await source.read(buf); n > 0; n = await source.read(buf)) chunks.push(buf.slice(0, n));
  return Buffer.concat(chunks).toString();
}

describe("pipeDuplexPair", () => {
  test("each end reads what the other wrote, then EOF once the writer ended", async () => {
    const [a, b] = pipeDuplexPair(["a", "b"]);
    expect([a.label, b.label]).toEqual(["a", "b"]);
    await a.sink.write([Buffer.from("to "), Buffer.from("b")]);
    await b.sink.write([Buffer.from("to a")]);
    await Promise.all([a.sink.end(), b.sink.end()]);
    expect(await readAll(b.source)).toBe("to b");
    expect(await readAll(a.source)).toBe("to a");
    await Promise.all([a.close(), b.close()]);
  });

  test("both directions are kernel pipes, so the data path can splice them", async () => {
    const [a, b] = pipeDuplexPair(["a", "b"]);
    for (const fd of [a.source.fd, a.sink.fd, b.source.fd, b.sink.fd]) expect(fstatSync(fd!).isFIFO()).toBe(true);
    await Promise.all([a.close(), b.close()]);
  });

  test("a write towards an end that closed fails with EPIPE and leaves this process running", async () => {
    const [a, b] = pipeDuplexPair(["a", "b"]);
    await b.close();
    // Larger than a pipe holds, so the write cannot complete into the buffer alone.
    const write = a.sink.write([new Uint8Array(4 << 20)]);
    expect(write).rejects.toMatchObject({ code: "EPIPE" });
    await write.catch(() => {});
    await a.close();
  });

  test("close() is safe to call twice", async () => {
    const [a, b] = pipeDuplexPair(["a", "b"]);
    await Promise.all([a.close(), a.close()]);
    await b.close();
    await b.close();
  });
});
