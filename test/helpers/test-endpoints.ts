/** Endpoints that exercise every body kind in both directions; used by the RPC contract tests. */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EndpointRegistry, RpcError, defineEndpoint, schema, type IncomingOctets, type OctetProducer } from "../../src/rpc/index.ts";
import { closeQuietly, makePipe } from "../../src/sys/pipe.ts";

/** Deterministic bytes: byte i of stream `seed` (cheap, and different per seed and offset). */
export function patternChunk(seed: number, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = ((offset + i) * 31 + seed * 7 + ((offset + i) >>> 10)) & 0xff;
  return out;
}

export async function* patternStream(seed: number, bytes: number, chunk = 100_003): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < bytes; off += chunk) yield patternChunk(seed, off, Math.min(chunk, bytes - off));
}

export function sha256(chunks: Iterable<Uint8Array>): string {
  const h = new Bun.CryptoHasher("sha256");
  for (const c of chunks) h.update(c);
  return h.digest("hex");
}

const produceArgs = schema.object({
  seed: schema.uint,
  bytes: schema.uint,
  via: schema.literal("iterable", "fd"),
  fail_after: schema.optional(schema.uint),
});

/** A producer whose source is a child process writing the pattern into a real pipe. */
function childProducer(seed: number, bytes: number, failAfter?: number): OctetProducer {
  const pipe = makePipe();
  const limit = failAfter ?? bytes;
  const proc = Bun.spawn([process.execPath, `${import.meta.dir}/../fixtures/pattern-writer.ts`, String(seed), String(limit)], { stdout: pipe.writeFd, stderr: "pipe" });
  closeSync(pipe.writeFd);
  let abortReason: string | null = null;
  return {
    source: { fd: pipe.readFd },
    abort(reason) {
      abortReason = reason;
      proc.kill("SIGKILL");
    },
    async finish() {
      await proc.exited;
      closeQuietly(pipe.readFd);
      if (abortReason) return abortReason;
      return failAfter !== undefined ? `pattern-writer: simulated failure after ${failAfter} bytes` : null;
    },
  };
}

/** The body through a GatedSink into a temp file (an fd sink, so the pumps splice the rest). */
async function consumeGated(body: IncomingOctets, gate: { bytes: number; refuse: boolean }): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), "zferry-gate-"));
  let fd: number | null = null;
  let head = new Uint8Array(0);
  try {
    const received = await body.pipeTo({
      headBytes: gate.bytes,
      async open(first) {
        head = first.slice();
        if (gate.refuse) throw new RpcError("permission_denied", `Refused after looking at ${first.length} bytes`);
        fd = openSync(join(dir, "body"), "w");
        return { fd };
      },
    });
    if (fd !== null) closeSync(fd);
    fd = null;
    if (received.error) throw new RpcError("bad_request", `The client's stream failed: ${received.error}`);
    return { bytes: received.bytes, head: head.length, sha256: sha256([readFileSync(join(dir, "body"))]) };
  } finally {
    if (fd !== null) closeQuietly(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

export const TEST_PIDS: number[] = [];

export function testRegistry(): EndpointRegistry {
  return new EndpointRegistry([
    defineEndpoint({
      name: "echo",
      args: schema.object({ text: schema.string(), n: schema.optional(schema.u64) }),
      body: "none",
      response: "value",
      async handle(args) {
        return { text: args.text, n: args.n ?? 0n };
      },
    }),
    defineEndpoint({
      name: "ping",
      args: schema.none,
      body: "none",
      response: "none",
      async handle() {},
    }),
    defineEndpoint({
      name: "sum",
      args: schema.none,
      body: "value",
      response: "value",
      async handle(_args, ctx) {
        const values = schema.array(schema.uint)(ctx.body, "body");
        return values.reduce((a, b) => a + b, 0);
      },
    }),
    defineEndpoint({
      name: "produce",
      args: produceArgs,
      body: "none",
      response: "octets",
      async handle(args) {
        if (args.via === "fd") return childProducer(args.seed, args.bytes, args.fail_after);
        let aborted: string | null = null;
        const limit = args.fail_after ?? args.bytes;
        return {
          source: patternStream(args.seed, limit),
          abort: (reason) => void (aborted = reason),
          finish: async () => aborted ?? (args.fail_after !== undefined ? `simulated failure after ${args.fail_after} bytes` : null),
        } satisfies OctetProducer;
      },
    }),
    defineEndpoint({
      name: "consume",
      args: schema.object({
        refuse: schema.optional(schema.boolean),
        fail_sink_after: schema.optional(schema.uint),
        to_dev_null: schema.optional(schema.boolean),
        /** Look at this many leading bytes first (a GatedSink), then refuse or take the body into a file. */
        gate: schema.optional(schema.object({ bytes: schema.uint, refuse: schema.boolean })),
      }),
      body: "octets",
      response: "value",
      async handle(args, ctx) {
        if (args.refuse) throw new RpcError("permission_denied", "Refused before reading the body");
        if (args.to_dev_null) {
          // An fd sink: over real fds the body goes through the data pump, not the portable loop.
          const fd = openSync("/dev/null", "w");
          try {
            const received = await ctx.body.pipeTo({ fd });
            return { bytes: received.bytes };
          } finally {
            closeSync(fd);
          }
        }
        if (args.gate) return consumeGated(ctx.body, args.gate);
        const hasher = new Bun.CryptoHasher("sha256");
        let seen = 0;
        const received = await ctx.body.pipeTo((chunk) => {
          seen += chunk.length;
          if (args.fail_sink_after !== undefined && seen > args.fail_sink_after) throw new Error("simulated sink failure");
          hasher.update(chunk);
        });
        if (received.sinkError) throw new RpcError("server_error", `Receiving failed: ${received.sinkError}`);
        if (received.error) throw new RpcError("bad_request", `The client's stream failed: ${received.error}`);
        return { bytes: received.bytes, sha256: hasher.digest("hex") };
      },
    }),
    defineEndpoint({
      name: "boom",
      args: schema.none,
      body: "none",
      response: "value",
      async handle() {
        throw new Error("secret internal detail");
      },
    }),
  ]);
}
