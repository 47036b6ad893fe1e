/**
 * A hostile or broken client against a real server: `serve` over an in-process memory pair, and the
 * same server in a child process (test/fixtures/rpc-test-server.ts) over real pipes. The client
 * side is raw: these tests write the bytes themselves and read what comes back frame by frame.
 *
 * Every case must end in one of two ways:
 * - the server answers with an error status and the connection is still in sync (a ping works);
 * - the server sends a RESET (scope "connection") whose reason names the problem, and closes.
 * Never a hang (every wait is bounded well under the test timeout), never a crash with a stack
 * trace (exit code and log are checked), and never an allocation sized by an untrusted length
 * (the child's peak RSS is checked).
 */
import { describe, expect, test } from "bun:test";
import { createConsola } from "consola/core";
import { RpcConnection, decodeCbor, encodeCbor, serve } from "../src/rpc/index.ts";
import { closeQuietly, makePipe } from "../src/sys/pipe.ts";
import { FdSink, FdSource, memoryPair, type ByteSink, type Duplex } from "../src/transport/index.ts";
import { FrameReader, FrameType, MAX_FRAME_PAYLOAD, MAX_HEADER_BYTES, MAX_VALUE_BYTES, type Hello } from "../src/wire/index.ts";
import { testRegistry } from "./helpers/test-endpoints.ts";
import { prng } from "./helpers/prng.ts";
import { watchProcess } from "./helpers/process-watch.ts";

const FIXTURE = `${import.meta.dir}/fixtures/rpc-test-server.ts`;
/** Longest any single wait may take before the case counts as a hang. */
const CASE_MS = 5_000;
const TEST_MS = 15_000;
/** The child's peak RSS must stay under this, whatever lengths the client claims. */
const MAX_CHILD_RSS = 200 << 20;
const STACK_LINE = /^\s+at /m;
const END = 0x01;
const T = FrameType;

// --- the server, in process or in a child ---

interface ServerRun {
  /** 0 after serving; 3 when the handshake failed (as the fixture exits); 1 when serve threw. */
  exitCode: number;
  /** The server's log (child: its stderr). */
  log: string;
  /** Child only: peak resident set size in bytes, as last seen while it ran. */
  maxRSS?: number;
}

interface Server extends AsyncDisposable {
  /** Our end of the connection. */
  readonly duplex: Duplex;
  readonly done: Promise<ServerRun>;
}

interface ServerOptions {
  idleTimeoutMs: number;
  handshakeTimeoutMs?: number;
}

/** Mirrors test/fixtures/rpc-test-server.ts, on a memory pair, with the log captured. */
function inProcessServer(options: ServerOptions): Server {
  const [ours, theirs] = memoryPair();
  const lines: string[] = [];
  const log = createConsola({
    level: 4,
    reporters: [{ log: (e) => lines.push(`${e.type} ${e.args.map((a) => (a instanceof Error ? a.stack : String(a))).join(" ")}`) }],
  });
  const done = (async (): Promise<ServerRun> => {
    let conn: RpcConnection;
    try {
      conn = await RpcConnection.open(theirs, { software: "zferry/test", ...options });
    } catch (err) {
      log.error((err as Error).message);
      await theirs.close();
      return { exitCode: 3, log: lines.join("\n") };
    }
    try {
      await serve(conn, testRegistry(), { log, onCallDone: (e) => log.info(`call endpoint=${e.endpoint} status=${e.status}`) });
      await conn.close();
      return { exitCode: 0, log: lines.join("\n") };
    } catch (err) {
      lines.push(`crash ${(err as Error).stack}`);
      await theirs.close();
      return { exitCode: 1, log: lines.join("\n") };
    }
  })();
  return {
    duplex: ours,
    done,
    async [Symbol.asyncDispose]() {
      await ours.close();
    },
  };
}

/** The fixture in a child process, on two real pipes, with its stderr and peak RSS collected. */
function childServer(options: ServerOptions): Server {
  const toChild = makePipe();
  const fromChild = makePipe();
  const proc = Bun.spawn([process.execPath, FIXTURE], {
    stdin: toChild.readFd,
    stdout: fromChild.writeFd,
    stderr: "pipe",
    env: { ...process.env, TEST_IDLE_MS: String(options.idleTimeoutMs), ZFERRY_LOG_LEVEL: "info" },
  });
  closeQuietly(toChild.readFd);
  closeQuietly(fromChild.writeFd);
  const source = new FdSource(fromChild.readFd);
  const sink = serialSink(new FdSink(toChild.writeFd, { closeOnEnd: true }));
  const stderr = new Response(proc.stderr as ReadableStream).text();
  const peak = watchProcess(proc.pid, 5);
  const done = (async (): Promise<ServerRun> => {
    const exitCode = await proc.exited;
    return { exitCode, log: await stderr, maxRSS: peak.stop().peakBytes };
  })();
  return {
    duplex: { source, sink, label: `child ${proc.pid}`, close: () => sink.end() },
    done,
    async [Symbol.asyncDispose]() {
      if (proc.exitCode === null) proc.kill("SIGKILL"); // a failed case may leave it running
      await proc.exited;
      await sink.end(); // pending writes have failed with EPIPE by now
      source.close();
      closeQuietly(fromChild.readFd);
    },
  };
}

/**
 * FdSink writes are not queued: two concurrent `writev`s may interleave, and `end()` closes the fd
 * under a write still in flight (whose fd number the next test's pipe may get). The raw client
 * fires big writes without awaiting them, so this keeps them in order and lets them settle first.
 */
function serialSink(sink: FdSink): ByteSink {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    fd: sink.fd,
    write(chunks) {
      const p = tail.then(() => sink.write(chunks));
      tail = p.catch(() => {});
      return p;
    },
    async end() {
      await tail;
      await sink.end();
    },
  };
}

const SERVERS: [string, (o: ServerOptions) => Server][] = [
  ["in process", inProcessServer],
  ["in a child process", childServer],
];

// --- the raw client ---

interface RawFrame {
  type: number;
  end: boolean;
  payload: Uint8Array;
}

class RawPeer {
  readonly #duplex: Duplex;
  readonly #reader: FrameReader;
  /** DATA payload bytes skipped by `expectReset`. */
  dataBytes = 0;

  constructor(duplex: Duplex) {
    this.#duplex = duplex;
    this.#reader = new FrameReader(duplex.source);
  }

  /** Writes bytes; a server that already hung up (EPIPE) is not an error here. Await only small writes. */
  send(...chunks: Uint8Array[]): Promise<void> {
    return this.#duplex.sink.write(chunks).catch((err) => {
      if ((err as { code?: string }).code !== "EPIPE") throw err;
    });
  }

  /** Ends our output: the server reads EOF. */
  end(): Promise<void> {
    return this.#duplex.sink.end();
  }

  readHello(): Promise<Hello> {
    return within(this.#reader.readHello(), "the server's handshake line");
  }

  /** The next frame (payload copied), or null at EOF. */
  async next(): Promise<RawFrame | null> {
    const f = await within(this.#reader.next(), "a frame from the server");
    return f && { type: f.type, end: f.end, payload: f.payload.slice() };
  }

  /** The next frame that is not a HEARTBEAT. */
  async nextSkippingHeartbeats(): Promise<RawFrame | null> {
    for (;;) {
      const f = await this.next();
      if (f?.type !== T.HEARTBEAT) return f;
    }
  }

  /** Expects a one-frame response header and returns it decoded. */
  async response(): Promise<unknown> {
    const f = await this.nextSkippingHeartbeats();
    expect(f).not.toBeNull();
    expect({ type: f!.type, end: f!.end }).toEqual({ type: T.HEADER, end: true });
    return decodeCbor(f!.payload, "response header");
  }

  /** Expects an error answer with `body: "none"`; the connection stays in sync. */
  async expectStatus(status: string, message: string): Promise<void> {
    expect(await this.response()).toEqual({ status, message, body: "none" });
  }

  /** Proves the connection is in sync: a ping gets its "ok". */
  async expectPing(): Promise<void> {
    await this.send(request({ endpoint: "ping", body: "none", accept: "none" }));
    expect(await this.response()).toEqual({ status: "ok", body: "none" });
  }

  /** Expects (after any DATA and heartbeats) a connection RESET whose reason matches, then EOF. */
  async expectReset(reason: string | RegExp): Promise<void> {
    let f: RawFrame | null;
    while ((f = await this.next()) && (f.type === T.DATA || f.type === T.HEARTBEAT)) this.dataBytes += f.payload.length;
    expect(f === null ? "EOF without a RESET" : f.type === T.RESET ? "RESET" : `a ${f.type} frame`).toBe("RESET");
    const reset = decodeCbor(f!.payload, "reset") as { reason: string; scope: string };
    expect(reset.scope).toBe("connection");
    if (typeof reason === "string") expect(reset.reason).toContain(reason);
    else expect(reset.reason).toMatch(reason);
    await this.expectEof();
  }

  async expectEof(): Promise<void> {
    const f = await this.next();
    expect(f === null ? "EOF" : `a frame of type ${f.type}`).toBe("EOF");
  }
}

function within<T>(p: Promise<T>, what: string, ms = CASE_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Waited ${ms} ms for ${what}: the server hangs`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** A frame from raw fields, so a test can break any rule the encoder would refuse. */
function frame(type: number, flags: number, payload: Uint8Array = new Uint8Array(0), options: { length?: number; reserved?: number } = {}): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  const v = new DataView(out.buffer);
  v.setUint8(0, type);
  v.setUint8(1, flags);
  v.setUint16(2, options.reserved ?? 0);
  v.setUint32(4, options.length ?? payload.length);
  out.set(payload, 8);
  return out;
}

function request(header: Record<string, unknown>): Uint8Array {
  return frame(T.HEADER, END, encodeCbor(header));
}

function ascii(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function hexBytes(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h, "hex"));
}


// --- the cases ---

interface Case {
  name: string;
  /** What we send instead of a valid handshake line. */
  hello?: Uint8Array | null;
  /** The server's idle timeout; long unless the case is about it. */
  idleTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  only?: "in process" | "in a child process";
  /** Expected server exit: 0 unless the handshake fails (3). */
  exitCode?: number;
  /** Text the server's log must contain. */
  log?: string;
  run(peer: RawPeer): Promise<void>;
}

const PING = request({ endpoint: "ping", body: "none", accept: "none" });
const VALID_HELLO = ascii("ZFERRY 1 zferry/hostile\n");

const CASES: Case[] = [
  // handshake
  {
    name: "a shell banner instead of a handshake line",
    hello: ascii("Welcome to Ubuntu 24.04 LTS (GNU/Linux 6.8.0 x86_64)\n\n * Documentation:  https://help.ubuntu.com\n"),
    exitCode: 3,
    log: 'The peer does not speak zferry: expected a line starting with "ZFERRY ", got "Welcome to Ubuntu 24.04 LTS',
    run: (p) => p.expectEof(),
  },
  {
    name: "a handshake with another protocol version",
    hello: ascii("ZFERRY 2 zferry/9.9.9\n"),
    exitCode: 3,
    log: "Protocol version mismatch: the peer (zferry/9.9.9) speaks protocol 2, this side (zferry/test) speaks 1",
    run: (p) => p.expectEof(),
  },
  {
    name: "a handshake line with no newline within 64 bytes",
    hello: ascii(`ZFERRY 1 ${"v".repeat(100)}`),
    exitCode: 3,
    log: "Handshake line longer than 64 bytes",
    run: (p) => p.expectEof(),
  },
  {
    name: "a malformed handshake line",
    hello: ascii("ZFERRY one zferry\n"),
    exitCode: 3,
    log: 'Malformed handshake line: "ZFERRY one zferry\\n"',
    run: (p) => p.expectEof(),
  },
  {
    name: "EOF before the handshake",
    hello: new Uint8Array(0),
    exitCode: 3,
    log: "The peer closed the connection before the handshake",
    async run(p) {
      await p.end();
      await p.expectEof();
    },
  },
  {
    name: "no handshake at all (handshake timeout)",
    hello: null,
    handshakeTimeoutMs: 300,
    only: "in process", // the fixture uses the 10 s default
    exitCode: 3,
    log: "No handshake from the peer within 0.3 s",
    run: (p) => p.expectEof(),
  },

  // frames that cannot be read
  {
    name: "a HEADER frame with length 0xFFFFFFFF (no EOF after it)",
    log: "Frame HEADER payload length 4294967295 exceeds MAX_FRAME_PAYLOAD (1048576)",
    async run(p) {
      await p.send(frame(T.HEADER, END, new Uint8Array(0), { length: 0xffffffff }));
      await p.expectReset(`ProtocolError: Frame HEADER payload length 4294967295 exceeds MAX_FRAME_PAYLOAD (${MAX_FRAME_PAYLOAD})`);
    },
  },
  {
    name: "a DATA frame with length 0xFFFFFFFF",
    async run(p) {
      await p.send(frame(T.DATA, 0, new Uint8Array(0), { length: 0xffffffff }));
      await p.expectReset("ProtocolError: Frame DATA payload length 4294967295 exceeds MAX_FRAME_PAYLOAD");
    },
  },
  {
    name: "an unknown frame type",
    async run(p) {
      await p.send(frame(0x07, END));
      await p.expectReset("ProtocolError: Unknown frame type 0x07");
    },
  },
  {
    name: "reserved flag bits",
    async run(p) {
      await p.send(frame(T.HEADER, 0x81, encodeCbor({})));
      await p.expectReset("ProtocolError: Frame HEADER has reserved flag bits set: 0x81");
    },
  },
  {
    name: "non-zero reserved bytes",
    async run(p) {
      await p.send(frame(T.HEADER, END, encodeCbor({}), { reserved: 0x0100 }));
      await p.expectReset("ProtocolError: Frame HEADER has non-zero reserved bytes");
    },
  },
  {
    name: "a frame header cut short, then EOF",
    async run(p) {
      await p.send(PING.subarray(0, 3));
      await p.end();
      await p.expectReset("ProtocolError: The connection ended inside a frame header (3 of 8 bytes)");
    },
  },
  {
    name: "a HEADER payload cut short, then EOF",
    async run(p) {
      await p.send(PING.subarray(0, 13));
      await p.end();
      await p.expectReset(`ProtocolError: The connection ended inside a HEADER frame (5 of ${PING.length - 8} payload bytes)`);
    },
  },
  {
    name: "a whole call, then a frame cut short, then EOF",
    async run(p) {
      await p.expectPing();
      await p.send(PING.subarray(0, 9));
      await p.end();
      await p.expectReset("ProtocolError: The connection ended inside a HEADER frame (1 of");
    },
  },
  // Regression: end of input inside a message was a ConnectionError ("The peer closed the connection
  // while a request header was expected"), and the server sent no RESET though its output was open.
  {
    name: "a request header without END, then EOF",
    async run(p) {
      const header = encodeCbor({ endpoint: "ping", body: "none", accept: "none" });
      await p.send(frame(T.HEADER, 0, header.subarray(0, 5)), frame(T.HEADER, 0, header.subarray(5, 9)));
      await p.end();
      await p.expectReset("ProtocolError: The connection ended inside a request header: 9 bytes in 2 HEADER frames, none with END");
    },
  },
  {
    name: "a request value body without END, then EOF",
    async run(p) {
      await p.send(request({ endpoint: "sum", body: "value", accept: "value" }), frame(T.VALUE, 0, encodeCbor([1, 2]).subarray(0, 2)));
      await p.end();
      await p.expectReset("ProtocolError: The connection ended inside the request body: 2 bytes in 1 VALUE frame, none with END");
    },
  },
  ...([false, true] as const).flatMap((toFd): Case[] => [
    {
      name: `a request octet body without its trailer, then EOF (${toFd ? "fd sink, data pump" : "function sink"})`,
      async run(p) {
        await p.send(request({ endpoint: "consume", args: toFd ? { to_dev_null: true } : {}, body: "octets", accept: "value" }), frame(T.DATA, 0, new Uint8Array(100)));
        await p.end();
        await p.expectReset("ProtocolError: The connection ended inside an octet stream, before its trailer (after 100 payload bytes)");
      },
    },
    {
      name: `a DATA frame cut short in a request octet body, then EOF (${toFd ? "fd sink, data pump" : "function sink"})`,
      async run(p) {
        await p.send(request({ endpoint: "consume", args: toFd ? { to_dev_null: true } : {}, body: "octets", accept: "value" }), frame(T.DATA, 0, new Uint8Array(10)).subarray(0, 12));
        await p.end();
        await p.expectReset("ProtocolError: The connection ended inside a DATA frame (4 of 10 payload bytes)");
      },
    },
    {
      name: `a trailer cut short in a request octet body, then EOF (${toFd ? "fd sink, data pump" : "function sink"})`,
      async run(p) {
        const trailer = frame(T.TRAILER, END, encodeCbor({ ok: true, bytes: 0 }));
        await p.send(request({ endpoint: "consume", args: toFd ? { to_dev_null: true } : {}, body: "octets", accept: "value" }), trailer.subarray(0, 11));
        await p.end();
        await p.expectReset(`ProtocolError: The connection ended inside a TRAILER frame (3 of ${trailer.length - 8} payload bytes)`);
      },
    },
    {
      name: `an octet body through to its trailer (${toFd ? "fd sink, data pump" : "function sink"})`,
      async run(p) {
        await p.send(request({ endpoint: "consume", args: toFd ? { to_dev_null: true } : {}, body: "octets", accept: "value" }), frame(T.DATA, 0, new Uint8Array(10)), frame(T.TRAILER, END, encodeCbor({ ok: true, bytes: 10 })));
        expect(await p.response()).toEqual({ status: "ok", body: "value" });
        await p.nextSkippingHeartbeats();
        await p.expectPing();
      },
    },
  ]),
  {
    name: "a request header over MAX_HEADER_BYTES built from many END-less frames",
    log: `A request header is larger than its limit of ${MAX_HEADER_BYTES} bytes`,
    async run(p) {
      const part = new Uint8Array(16 << 10);
      for (let i = 0; i < 5; i++) void p.send(frame(T.HEADER, 0, part));
      await p.expectReset(`ProtocolError: A request header is larger than its limit of ${MAX_HEADER_BYTES} bytes`);
    },
  },
  {
    name: "a request header over MAX_HEADER_BYTES in one frame",
    async run(p) {
      void p.send(frame(T.HEADER, END, new Uint8Array(MAX_HEADER_BYTES + 1)));
      await p.expectReset(`ProtocolError: A request header is larger than its limit of ${MAX_HEADER_BYTES} bytes`);
    },
  },
  {
    name: "a request header of exactly MAX_HEADER_BYTES (passes the size check, fails as CBOR)",
    async run(p) {
      const part = new Uint8Array(MAX_HEADER_BYTES / 4);
      for (let i = 0; i < 4; i++) void p.send(frame(T.HEADER, i === 3 ? END : 0, part));
      await p.expectReset(`ProtocolError: Malformed CBOR in a request header: expected exactly one item, found ${MAX_HEADER_BYTES}`);
    },
  },
  {
    name: "a request value body over MAX_VALUE_BYTES",
    async run(p) {
      await p.send(request({ endpoint: "sum", body: "value", accept: "value" }));
      const part = new Uint8Array(MAX_FRAME_PAYLOAD);
      const frames = MAX_VALUE_BYTES / MAX_FRAME_PAYLOAD + 1;
      for (let i = 0; i < frames; i++) void p.send(frame(T.VALUE, i === frames - 1 ? END : 0, part));
      await p.expectReset(`ProtocolError: The request body is larger than its limit of ${MAX_VALUE_BYTES} bytes`);
    },
  },

  // request headers that do not decode or do not parse
  {
    name: "bad CBOR in a request header (reserved token)",
    async run(p) {
      await p.send(frame(T.HEADER, END, hexBytes("1c")));
      await p.expectReset("ProtocolError: Malformed CBOR in a request header: ");
    },
  },
  {
    name: "bad CBOR in a request header (a map cut short)",
    async run(p) {
      await p.send(frame(T.HEADER, END, hexBytes("a2646e616d65")));
      await p.expectReset("ProtocolError: Malformed CBOR in a request header: ");
    },
  },
  {
    name: "a request header with a trailing byte after its CBOR item",
    async run(p) {
      await p.send(frame(T.HEADER, END, new Uint8Array([...encodeCbor({ endpoint: "ping", body: "none", accept: "none" }), 0x00])));
      await p.expectReset("ProtocolError: Malformed CBOR in a request header: expected exactly one item, found 2");
    },
  },
  // Regression: cbor-x let the last of two equal keys win, and repaired invalid UTF-8 with U+FFFD.
  {
    name: "a request header with the key endpoint twice (the last would win)",
    async run(p) {
      // {endpoint: "info", body: "none", accept: "none", endpoint: "ping"}
      await p.send(frame(T.HEADER, END, hexBytes("a4 68656e64706f696e74 64696e666f 64626f6479 646e6f6e65 66616363657074 646e6f6e65 68656e64706f696e74 6470696e67".replace(/ /g, ""))));
      await p.expectReset('ProtocolError: Malformed CBOR in a request header: a map with the key "endpoint" twice at byte 38');
    },
  },
  {
    name: "a request header with invalid UTF-8 in the endpoint name",
    async run(p) {
      // {endpoint: "p\xffng", body: "none", accept: "none"}
      await p.send(frame(T.HEADER, END, hexBytes("a3 68656e64706f696e74 6470ff6e67 64626f6479 646e6f6e65 66616363657074 646e6f6e65".replace(/ /g, ""))));
      await p.expectReset("ProtocolError: Malformed CBOR in a request header: a text string that is not valid UTF-8 at byte 12");
    },
  },
  // Regression: a whole float decoded to the same number as the integer, so it passed for one.
  {
    name: "a float where an argument must be an integer (n: 12345.0)",
    async run(p) {
      // {endpoint: "echo", args: {text: "x", n: 12345.0}, body: "none", accept: "value"}
      const args = "a2 6474657874 6178 616e fb40c81c8000000000";
      await p.send(frame(T.HEADER, END, hexBytes(`a4 68656e64706f696e74 646563686f 6461726773 ${args} 64626f6479 646e6f6e65 66616363657074 6576616c7565`.replace(/ /g, ""))));
      await p.expectReset("ProtocolError: Malformed CBOR in a request header: a floating-point number (zferry's numbers are integers, major types 0 and 1) at byte 30");
    },
  },
  {
    name: "a trailer with bytes: 1000.0 (a float) ending a request octet body",
    async run(p) {
      await p.send(request({ endpoint: "consume", args: {}, body: "octets", accept: "value" }), frame(T.DATA, 0, new Uint8Array(1000)));
      // {ok: true, bytes: 1000.0}
      await p.send(frame(T.TRAILER, END, hexBytes("a2 626f6b f5 656279746573 f9 63d0".replace(/ /g, ""))));
      await p.expectReset("ProtocolError: Malformed CBOR in trailer: a floating-point number");
    },
  },
  ...(
    [
      ["missing its endpoint", { body: "none", accept: "none" }, '"request header.endpoint": expected a string, got undefined'],
      ["with an unknown field", { endpoint: "ping", body: "none", accept: "none", deadline: 5 }, '"request header.deadline": unknown field'],
      ["with a number for the endpoint", { endpoint: 7, body: "none", accept: "none" }, '"request header.endpoint": expected a string, got number'],
      ["with an unknown body kind", { endpoint: "ping", body: "stream", accept: "none" }, '"request header.body": expected one of "none", "value", "octets", got "stream"'],
      ["that is an array", ["ping", "none", "none"], '"request header": expected a map, got an array'],
    ] as [string, unknown, string][]
  ).map(
    ([what, header, message]): Case => ({
      name: `a request header ${what}`,
      async run(p) {
        await p.send(frame(T.HEADER, END, encodeCbor(header)));
        // Regression: this reason lacked the "ProtocolError: " every other protocol error has.
        await p.expectReset(new RegExp(`^ProtocolError: Malformed request header: ${RegExp.escape(message)}$`));
      },
    }),
  ),

  // frames of the wrong type where a request header is expected
  ...(["DATA", "VALUE", "TRAILER"] as const).map(
    (name): Case => ({
      name: `a ${name} frame where a request header is expected`,
      async run(p) {
        await p.send(frame(T[name], name === "DATA" ? 0 : END, encodeCbor({ ok: true, bytes: 0 })));
        await p.expectReset(`ProtocolError: Expected a request header (HEADER frame), got a ${name} frame`);
      },
    }),
  ),
  {
    name: "a RESET with a malformed payload where a request header is expected",
    async run(p) {
      await p.send(frame(T.RESET, END, encodeCbor({ reason: 5, scope: "stream" })));
      await p.expectReset('ProtocolError: Invalid reset: "reset.reason": expected a string, got number');
    },
  },

  // frames that are allowed between calls
  {
    name: "heartbeats and a stale stream RESET between calls are ignored",
    async run(p) {
      await p.send(frame(T.HEARTBEAT, END), frame(T.RESET, END, encodeCbor({ reason: "late cancel", scope: "stream" })), frame(T.HEARTBEAT, END));
      await p.expectPing();
    },
  },
  {
    name: "a connection RESET from the client: the server closes without answering",
    log: "The client closed the connection: bye",
    async run(p) {
      await p.send(frame(T.RESET, END, encodeCbor({ reason: "bye", scope: "connection" })));
      await p.expectEof();
    },
  },

  // requests the server refuses, staying in sync
  {
    name: "an unknown endpoint",
    async run(p) {
      await p.send(request({ endpoint: "nope", body: "none", accept: "none" }));
      await p.expectStatus("bad_request", 'Unknown endpoint "nope"');
      await p.expectPing();
    },
  },
  {
    name: "an unknown endpoint with a value body (read, then refused)",
    async run(p) {
      await p.send(request({ endpoint: "nope", args: { a: 1 }, body: "value", accept: "value" }), frame(T.VALUE, END, encodeCbor([1, 2])));
      await p.expectStatus("bad_request", 'Unknown endpoint "nope"');
      await p.expectPing();
    },
  },
  {
    name: "an unknown endpoint with an octet body (refused before the body, which is then drained)",
    async run(p) {
      await p.send(request({ endpoint: "nope", body: "octets", accept: "none" }));
      await p.expectStatus("bad_request", 'Unknown endpoint "nope"');
      await p.send(frame(T.DATA, 0, new Uint8Array(100)), frame(T.HEARTBEAT, END), frame(T.DATA, 0, new Uint8Array(5)), frame(T.TRAILER, END, encodeCbor({ ok: true, bytes: 105 })));
      await p.expectPing();
    },
  },
  {
    name: "a wrong body kind (a value body for ping)",
    async run(p) {
      await p.send(request({ endpoint: "ping", body: "value", accept: "none" }), frame(T.VALUE, END, encodeCbor("x")));
      await p.expectStatus("bad_request", 'Endpoint ping takes a request body of kind "none", got "value"');
      await p.expectPing();
    },
  },
  {
    name: "a wrong accept kind",
    async run(p) {
      await p.send(request({ endpoint: "echo", args: { text: "x" }, body: "none", accept: "octets" }));
      await p.expectStatus("bad_request", 'Endpoint echo answers with a body of kind "value", the request accepts "octets"');
      await p.expectPing();
    },
  },
  {
    name: "arguments of the wrong type",
    async run(p) {
      await p.send(request({ endpoint: "echo", args: { text: 5 }, body: "none", accept: "value" }));
      await p.expectStatus("bad_request", 'Invalid arguments for echo: "args.text": expected a string, got number');
      await p.expectPing();
    },
  },

  // octet bodies that break the rules
  {
    name: "a DATA frame with END inside a request octet body",
    async run(p) {
      await p.send(request({ endpoint: "consume", args: {}, body: "octets", accept: "value" }), frame(T.DATA, END, new Uint8Array(4)));
      await p.expectReset("ProtocolError: Frame DATA must not carry END: an octet stream ends with a TRAILER");
    },
  },
  {
    name: "a VALUE frame inside a request octet body",
    async run(p) {
      await p.send(request({ endpoint: "consume", args: {}, body: "octets", accept: "value" }), frame(T.DATA, 0, new Uint8Array(4)), frame(T.VALUE, END, encodeCbor(1)));
      await p.expectReset("ProtocolError: Unexpected VALUE frame inside an octet stream");
    },
  },
  {
    name: "a trailer that claims more bytes than arrived",
    async run(p) {
      await p.send(request({ endpoint: "consume", args: {}, body: "octets", accept: "value" }), frame(T.DATA, 0, new Uint8Array(10)), frame(T.TRAILER, END, encodeCbor({ ok: true, bytes: 11 })));
      await p.expectReset("ProtocolError: The trailer reports 11 bytes but 10 arrived");
    },
  },
  {
    name: "a stream RESET inside the request body it would cancel",
    async run(p) {
      await p.send(request({ endpoint: "consume", args: {}, body: "octets", accept: "value" }), frame(T.DATA, 0, new Uint8Array(10)), frame(T.RESET, END, encodeCbor({ reason: "oops", scope: "stream" })));
      await p.expectReset("ProtocolError: A stream RESET arrived inside the stream it would cancel");
    },
  },

  // the client misbehaves while the server streams a response
  // Regression: the reason read "Protocol error: …", and the call was logged status=ok.
  ...(["iterable", "fd"] as const).map(
    (via): Case => ({
      name: `a new request sent while a response octet stream (${via}) is still arriving`,
      log: "call endpoint=produce status=protocol_error",
      async run(p) {
        await p.send(request({ endpoint: "produce", args: { seed: 1, bytes: 256 << 20, via }, body: "none", accept: "octets" }));
        expect(await p.response()).toEqual({ status: "ok", body: "octets" });
        await p.send(PING);
        await p.expectReset(/^ProtocolError: The client sent a new request \(HEADER frame\) before the response body ended$/);
        expect(p.dataBytes).toBeLessThan(256 << 20);
      },
    }),
  ),
  {
    name: "an unknown frame type while a response octet stream is arriving",
    log: "call endpoint=produce status=protocol_error",
    async run(p) {
      await p.send(request({ endpoint: "produce", args: { seed: 1, bytes: 256 << 20, via: "fd" }, body: "none", accept: "octets" }));
      expect(await p.response()).toEqual({ status: "ok", body: "octets" });
      await p.send(frame(0x07, END));
      await p.expectReset(/^ProtocolError: Unknown frame type 0x07$/);
    },
  },
  {
    name: "a malformed RESET while a response octet stream is arriving",
    async run(p) {
      await p.send(request({ endpoint: "produce", args: { seed: 1, bytes: 256 << 20, via: "iterable" }, body: "none", accept: "octets" }));
      expect(await p.response()).toEqual({ status: "ok", body: "octets" });
      await p.send(frame(T.RESET, END, encodeCbor({ reason: "x" })));
      await p.expectReset('ProtocolError: Invalid reset: "reset.scope": expected one of "stream", "connection", got undefined');
    },
  },
  {
    name: "a stream RESET during a response octet stream cancels it; the trailer follows and the connection stays in sync",
    async run(p) {
      await p.send(request({ endpoint: "produce", args: { seed: 1, bytes: 256 << 20, via: "iterable" }, body: "none", accept: "octets" }));
      expect(await p.response()).toEqual({ status: "ok", body: "octets" });
      await p.send(frame(T.RESET, END, encodeCbor({ reason: "enough", scope: "stream" })));
      let f: RawFrame | null;
      let bytes = 0;
      while ((f = await p.next()) && (f.type === T.DATA || f.type === T.HEARTBEAT)) bytes += f.payload.length;
      expect(f?.type).toBe(T.TRAILER);
      expect(decodeCbor(f!.payload, "trailer")).toEqual({ ok: false, bytes, error: "cancelled by the client: enough" });
      await p.expectPing();
    },
  },

  // silence
  {
    name: "half a frame and then silence (idle timeout)",
    idleTimeoutMs: 400,
    async run(p) {
      await p.send(PING.subarray(0, 4));
      await p.expectReset(/^ConnectionError: The peer sent nothing for [\d.]+ s \(idle timeout\)$/);
    },
  },
];

const BASE_SEED = Number(process.env.TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));

function randomBytesCase(seed: number): Case {
  return {
    name: `random bytes after a valid handshake (seed ${seed})`,
    async run(p) {
      const rand = prng(seed);
      const junk = new Uint8Array(1 + Math.floor(rand() * 600));
      for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(rand() * 256);
      void p.send(junk);
      await p.end();
      try {
        await p.expectReset(/^ProtocolError: \S/);
      } catch (err) {
        (err as Error).message = `seed ${seed} (rerun with TEST_SEED=${seed}), junk ${Buffer.from(junk.subarray(0, 16)).toString("hex")}…: ${(err as Error).message}`;
        throw err;
      }
    },
  };
}

async function runCase(c: Case, launch: (o: ServerOptions) => Server, isChild: boolean): Promise<void> {
  await using server = launch({ idleTimeoutMs: c.idleTimeoutMs ?? 20_000, handshakeTimeoutMs: c.handshakeTimeoutMs });
  const peer = new RawPeer(server.duplex);
  const hello = c.hello === undefined ? VALID_HELLO : c.hello;
  if (hello && hello.length) await peer.send(hello);
  expect(await peer.readHello()).toEqual({ protocol: 1, software: "zferry/test" });
  await c.run(peer);
  await peer.end();
  const run = await within(server.done, "the server to finish");
  expect(run.log).not.toMatch(STACK_LINE);
  expect({ exitCode: run.exitCode, log: c.log && run.log.includes(c.log) ? c.log : run.log }).toEqual({
    exitCode: c.exitCode ?? 0,
    log: c.log ?? run.log,
  });
  if (isChild) {
    expect(run.maxRSS).toBeGreaterThan(0);
    expect(run.maxRSS!).toBeLessThan(MAX_CHILD_RSS);
  }
}

for (const [where, launch] of SERVERS) {
  describe(`hostile input to a server ${where}`, () => {
    const isChild = launch === childServer;
    const cases = CASES.filter((c) => !c.only || c.only === where);
    test.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => runCase(c, launch, isChild), TEST_MS);

    const seeds = Array.from({ length: isChild ? 6 : 40 }, (_, i) => BASE_SEED + i);
    test.each(seeds.map((s) => [s] as const))("random bytes after a valid handshake end in a RESET and a close (seed %d)", (seed) => runCase(randomBytesCase(seed), launch, isChild), TEST_MS);
  });
}
