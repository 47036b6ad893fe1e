import { describe, expect, test } from "bun:test";
import { memoryPair } from "../transport/index.ts";
import { FrameReader, FrameType, MAX_ERROR_TEXT, ProtocolError, encodeHello, frameHeader } from "../wire/index.ts";
import { RpcClient } from "./client.ts";
import { decodeCbor, encodeCbor } from "./codec.ts";
import { RpcConnection } from "./connection.ts";

/** A client against a raw server that answers the first request with `response` (a header value). */
async function answerWith(response: unknown): Promise<{ error: unknown; reset: unknown }> {
  // (the reset is the next frame from the client after the answer, or null at its end of output)
  const [ours, theirs] = memoryPair();
  const raw = new FrameReader(theirs.source);
  void theirs.sink.write([encodeHello("zferry/raw")]);
  const [conn] = await Promise.all([RpcConnection.open(ours, { software: "zferry/test", idleTimeoutMs: 0 }), raw.readHello()]);
  const client = new RpcClient(conn);
  const call = client.callNone("ping", undefined).catch((e) => e);
  await raw.next(); // the request header
  const payload = encodeCbor(response);
  await theirs.sink.write([frameHeader(FrameType.HEADER, true, payload.length), payload]);
  const error = await call;
  await ours.close(); // the client's output ends: after a RESET, or at once
  const reset = await raw.next();
  await theirs.close();
  return { error, reset: reset && decodeCbor(reset.payload, "reset") };
}

describe("RpcClient", () => {
  // Regression: a response header of the wrong shape was a ValidationError, not a protocol error.
  test("RpcClient treats a response message over MAX_ERROR_TEXT bytes of UTF-8 as a protocol error and resets", async () => {
    const message = "é".repeat(MAX_ERROR_TEXT / 2 + 1); // 4097 UTF-16 units, 8194 bytes
    const { error, reset } = await answerWith({ status: "conflict", message, body: "none" });
    const expected = `Invalid response header: "response header.message": longer than ${MAX_ERROR_TEXT} bytes of UTF-8 (${MAX_ERROR_TEXT + 2})`;
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as Error).message).toBe(expected);
    expect(reset).toEqual({ reason: `ProtocolError: ${expected}`, scope: "connection" });
  });

  test("RpcClient accepts a response message of exactly MAX_ERROR_TEXT bytes of UTF-8", async () => {
    const message = "é".repeat(MAX_ERROR_TEXT / 2);
    const { error, reset } = await answerWith({ status: "conflict", message, body: "none" });
    expect(error).toMatchObject({ name: "RpcError", status: "conflict", message });
    expect(reset).toBeNull();
  });
});
