/**
 * One RPC contract, three connections: the in-memory pair (portable data path), OS pipes in this
 * process (Worker pumps, splice or copy), and a real child process serving on its stdio.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { logger } from "../src/log.ts";
import { RpcClient, RpcConnection, RpcError, StreamError, serve, type OctetProducer } from "../src/rpc/index.ts";
import { memoryPair, pipeDuplexPair, spawnChildDuplex, type Duplex } from "../src/transport/index.ts";
import { patternChunk, patternStream, sha256, testRegistry } from "./helpers/test-endpoints.ts";

interface Harness {
  client: RpcClient;
  /** Resolves when the server side has finished serving. */
  served: Promise<unknown>;
  close(): Promise<void>;
}

const log = logger.withTag("test");

async function inProcess(pair: [Duplex, Duplex]): Promise<Harness> {
  const [c, s] = pair;
  const [clientConn, serverConn] = await Promise.all([
    RpcConnection.open(c, { software: "zferry/test", idleTimeoutMs: 20_000 }),
    RpcConnection.open(s, { software: "zferry/test", idleTimeoutMs: 20_000 }),
  ]);
  const served = serve(serverConn, testRegistry(), { log }).finally(() => serverConn.close());
  return { client: new RpcClient(clientConn), served, close: () => clientConn.close() };
}

async function childProcess(): Promise<Harness> {
  const duplex = spawnChildDuplex([process.execPath, `${import.meta.dir}/fixtures/rpc-test-server.ts`], { label: "test server" });
  const conn = await RpcConnection.open(duplex, { software: "zferry/test", idleTimeoutMs: 20_000 });
  return { client: new RpcClient(conn), served: duplex.exited, close: () => conn.close() };
}

const CONNECTIONS: [string, () => Promise<Harness>][] = [
  ["memory pair", () => inProcess(memoryPair())],
  ["memory pair split into 1..7 byte chunks", () => inProcess(memoryPair({ split: randomSplit(7) }))],
  ["OS pipes in process", () => inProcess(pipeDuplexPair(["pipe A", "pipe B"]))],
  ["child process over stdio", childProcess],
];

function randomSplit(max: number): (chunk: Uint8Array) => Uint8Array[] {
  return (chunk) => {
    const out: Uint8Array[] = [];
    for (let off = 0; off < chunk.length; ) {
      const n = 1 + Math.floor(Math.random() * max);
      out.push(chunk.subarray(off, off + n));
      off += n;
    }
    return out;
  };
}

function iterableProducer(seed: number, bytes: number): OctetProducer & { aborted: string | null } {
  const p = {
    aborted: null as string | null,
    source: patternStream(seed, bytes),
    abort(reason: string) {
      p.aborted = reason;
    },
    finish: async () => null,
  };
  return p;
}

for (const [name, connect] of CONNECTIONS) {
  describe(`RPC contract over ${name}`, () => {
    let h: Harness | null = null;
    afterEach(async () => {
      await h?.close();
      h = null;
    });

    test("a value call round-trips a 64-bit integer exactly", async () => {
      h = await connect();
      const big = 18439435604692420319n;
      const v = await h.client.callValue("echo", { text: "hi", n: big }, (x) => x);
      expect(v).toEqual({ text: "hi", n: big });
    });

    test("a call without bodies, then a value request body", async () => {
      h = await connect();
      await h.client.callNone("ping", undefined);
      expect(await h.client.callValue("sum", undefined, (x) => x, { body: { kind: "value", value: [1, 2, 3, 4] } })).toBe(10);
    });

    test("an octet response arrives whole (multi-frame, 5 MiB + 17 bytes)", async () => {
      h = await connect();
      const bytes = 5 * 1024 * 1024 + 17;
      for (const via of ["iterable", "fd"] as const) {
        const chunks: Uint8Array[] = [];
        const got = await h.client.callOctets("produce", { seed: 3, bytes, via }, (c) => void chunks.push(c.slice()));
        expect(got).toEqual({ bytes, error: null, sinkError: null });
        expect(sha256(chunks)).toBe(sha256([patternChunk(3, 0, bytes)]));
      }
    });

    test("an octet request body arrives whole", async () => {
      h = await connect();
      const bytes = 3 * 1024 * 1024 + 5;
      const res = await h.client.callValue("consume", {}, (x) => x, { body: { kind: "octets", producer: iterableProducer(9, bytes) } });
      expect(res).toEqual({ bytes, sha256: sha256([patternChunk(9, 0, bytes)]) });
    });

    test("a failure mid-stream reaches the client in the trailer, and the connection stays usable", async () => {
      h = await connect();
      for (const via of ["iterable", "fd"] as const) {
        const err = await h.client.callOctets("produce", { seed: 1, bytes: 4 << 20, via, fail_after: 1_000_000 }, () => {}).catch((e) => e);
        expect(err).toBeInstanceOf(StreamError);
        expect((err as StreamError).message).toContain("simulated failure after 1000000 bytes");
        expect((err as StreamError).bytes).toBe(1_000_000);
      }
      expect(await h.client.callValue("echo", { text: "still here" }, (x) => x)).toEqual({ text: "still here", n: 0 });
    });

    test("a refused octet request is answered early and the body is drained", async () => {
      h = await connect();
      const producer = iterableProducer(2, 64 << 20);
      const err = await h.client.callValue("consume", { refuse: true }, (x) => x, { body: { kind: "octets", producer } }).catch((e) => e);
      expect(err).toBeInstanceOf(RpcError);
      expect(err).toMatchObject({ status: "permission_denied", message: "Refused before reading the body" });
      expect(producer.aborted).not.toBeNull(); // the client stopped instead of sending 64 MiB
      await h.client.callNone("ping", undefined);
    });

    test("a server-side sink failure cancels the request body with a reset", async () => {
      h = await connect();
      const producer = iterableProducer(2, 32 << 20);
      const err = await h.client
        .callValue("consume", { fail_sink_after: 300_000 }, (x) => x, { body: { kind: "octets", producer } })
        .catch((e) => e);
      expect(err).toBeInstanceOf(RpcError);
      expect((err as RpcError).message).toContain("simulated sink failure");
      await h.client.callNone("ping", undefined);
    });

    test("a gated sink sees the first bytes of an octet response, then gets all of it", async () => {
      h = await connect();
      for (const [via, bytes] of [["fd", 2 * 1024 * 1024 + 3], ["iterable", 100]] as const) {
        const heads: Uint8Array[] = [];
        const chunks: Uint8Array[] = [];
        const gate = { headBytes: 312, open: async (head: Uint8Array) => (heads.push(head.slice()), (c: Uint8Array) => void chunks.push(c.slice())) };
        const got = await h.client.callOctets("produce", { seed: 4, bytes, via }, gate);
        expect(got).toEqual({ bytes, error: null, sinkError: null });
        expect(heads).toEqual([patternChunk(4, 0, Math.min(312, bytes))]); // fewer only when the body is shorter
        expect(sha256(chunks)).toBe(sha256([patternChunk(4, 0, bytes)]));
      }
    });

    test("a gated sink that refuses an octet response cancels it, rethrows, and the connection stays usable", async () => {
      h = await connect();
      const gate = { headBytes: 312, open: async () => Promise.reject(new TypeError("Not a zfs send stream: bad magic")) };
      const err = await h.client.callOctets("produce", { seed: 6, bytes: 64 << 20, via: "fd" }, gate).catch((e) => e);
      expect(err).toBeInstanceOf(TypeError);
      expect((err as Error).message).toBe("Not a zfs send stream: bad magic");
      expect(await h.client.callValue("echo", { text: "after refusal" }, (x) => x)).toEqual({ text: "after refusal", n: 0 });
    });

    test("a server's gated sink takes an octet request body whole into an fd", async () => {
      h = await connect();
      const bytes = 3 * 1024 * 1024 + 11;
      const res = await h.client.callValue("consume", { gate: { bytes: 312, refuse: false } }, (x) => x, { body: { kind: "octets", producer: iterableProducer(8, bytes) } });
      expect(res).toEqual({ bytes, head: 312, sha256: sha256([patternChunk(8, 0, bytes)]) });
    });

    test("a server's gated sink refuses a request body from its first bytes; the client stops and reads the refusal", async () => {
      h = await connect();
      const producer = iterableProducer(2, 64 << 20);
      const err = await h.client.callValue("consume", { gate: { bytes: 312, refuse: true } }, (x) => x, { body: { kind: "octets", producer } }).catch((e) => e);
      expect(err).toBeInstanceOf(RpcError);
      expect(err).toMatchObject({ status: "permission_denied", message: "Refused after looking at 312 bytes" });
      expect(producer.aborted).toContain("cancelled by the server: Refused after looking at 312 bytes");
      await h.client.callNone("ping", undefined);
    });

    test("the client cancels an octet response and the connection stays usable", async () => {
      h = await connect();
      const stop = new AbortController();
      let seen = 0;
      const got = await h.client.callOctets(
        "produce",
        { seed: 5, bytes: 256 << 20, via: "fd" },
        (c) => {
          seen += c.length;
          if (seen > 2 << 20) stop.abort("enough");
        },
        { signal: stop.signal },
      ).catch((e) => e);
      expect(got).toBeInstanceOf(StreamError);
      expect((got as StreamError).message).toContain("cancelled by the client: enough");
      expect((got as StreamError).bytes).toBeLessThan(256 << 20);
      expect(await h.client.callValue("echo", { text: "after cancel" }, (x) => x)).toEqual({ text: "after cancel", n: 0 });
    });

    test("unknown endpoint, wrong body kind, wrong accept and bad args are bad requests naming the problem", async () => {
      h = await connect();
      const c = h.client;
      const cases: [() => Promise<unknown>, string][] = [
        [() => c.callValue("nope", undefined, (x) => x), 'Unknown endpoint "nope"'],
        [() => c.callValue("sum", undefined, (x) => x), 'takes a request body of kind "value", got "none"'],
        [() => c.callNone("echo", { text: "x" }), 'answers with a body of kind "value", the request accepts "none"'],
        [() => c.callValue("echo", { text: 5 }, (x) => x), '"args.text": expected a string, got number'],
        [() => c.callValue("echo", { text: "x", extra: 1 }, (x) => x), '"args.extra": unknown field'],
        [() => c.callValue("consume", { refuse: "yes" }, (x) => x, { body: { kind: "octets", producer: iterableProducer(1, 1 << 20) } }), '"args.refuse": expected a boolean'],
      ];
      for (const [call, message] of cases) {
        const err = await call().catch((e) => e);
        expect(err).toBeInstanceOf(RpcError);
        expect((err as RpcError).status).toBe("bad_request");
        expect((err as RpcError).message).toContain(message);
      }
      await h.client.callNone("ping", undefined);
    });

    test("an unexpected handler error is a server_error without internal detail", async () => {
      h = await connect();
      const err = await h.client.callValue("boom", undefined, (x) => x).catch((e) => e);
      expect(err).toMatchObject({ status: "server_error" });
      expect((err as Error).message).not.toContain("secret");
    });

    test("closing the client ends the server cleanly", async () => {
      h = await connect();
      await h.client.callNone("ping", undefined);
      await h.close();
      const result = await h.served;
      if (typeof result === "number") expect(result).toBe(0);
      h = null;
    });
  });
}
