/**
 * One RPC connection: the handshake, message reading and writing with an idle timeout, and octet
 * bodies in both directions. Shared by the server (serve.ts) and the client (client.ts).
 *
 * RULE1: after a ProtocolError or ConnectionError the connection is poisoned: it sends the peer a
 * RESET with the reason (best effort), closes, and every later operation fails with that error.
 * RULE2: at most one frame read is outstanding; `peekFrame` starts it early (a producer watching
 * for a RESET) and the next read takes it over.
 */
import { FdSink, FdSource, type ByteSource, type Duplex } from "../transport/index.ts";
import {
  ConnectionError,
  DEFAULT_IDLE_TIMEOUT_MS,
  FrameReader,
  FrameType,
  FrameWriter,
  HANDSHAKE_TIMEOUT_MS,
  MAX_HEADER_BYTES,
  MAX_VALUE_BYTES,
  ProtocolError,
  checkPeerHello,
  encodeHello,
  frameTypeName,
  sendFrameBytes,
  startReceivePump,
  startSendPump,
  type Frame,
  type Hello,
} from "../wire/index.ts";
import { decodeCbor, encodeCbor } from "./codec.ts";
import { PeerResetError } from "./errors.ts";
import { clampErrorText, parseReset, parseTrailer, type Reset, type ResetScope, type Trailer } from "./messages.ts";
import { isFdSource, isGatedSink, type BodySink, type GatedSink, type OctetSink, type OctetSource, type ProgressProbe, type ReceivedBody } from "./octets.ts";

export interface ConnectionOptions {
  /** This side's software version for the handshake, e.g. "zferry/0.1.0". */
  software: string;
  /** Longest silence from the peer while a reply is awaited; 0 disables. */
  idleTimeoutMs?: number;
  handshakeTimeoutMs?: number;
}

type MessageType = typeof FrameType.HEADER | typeof FrameType.VALUE;

export class RpcConnection {
  readonly duplex: Duplex;
  readonly peer: Hello;
  readonly idleTimeoutMs: number;
  readonly #reader: FrameReader;
  readonly #writer: FrameWriter;
  #pending: Promise<Frame | null> | null = null;
  #broken: Error | null = null;
  #lastInputAt = Date.now();

  private constructor(duplex: Duplex, reader: FrameReader, writer: FrameWriter, peer: Hello, idleTimeoutMs: number) {
    this.duplex = duplex;
    this.#reader = reader;
    this.#writer = writer;
    this.peer = peer;
    this.idleTimeoutMs = idleTimeoutMs;
  }

  /**
   * Exchanges handshake lines and returns the open connection.
   * @throws ProtocolError for a peer that is not zferry or speaks another protocol version
   * @throws ConnectionError when the peer does not answer within the handshake timeout
   */
  static async open(duplex: Duplex, options: ConnectionOptions): Promise<RpcConnection> {
    const reader = new FrameReader(duplex.source);
    const writer = new FrameWriter(duplex.sink);
    const timeoutMs = options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
    writer.writeRaw(encodeHello(options.software)).catch(() => {}); // a failure shows up as EOF on the read side
    const peer = await withTimeout(reader.readHello(), timeoutMs, () => new ConnectionError(`No handshake from the peer within ${timeoutMs / 1000} s`));
    checkPeerHello(peer, options.software);
    return new RpcConnection(duplex, reader, writer, peer, options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
  }

  get broken(): Error | null {
    return this.#broken;
  }

  /**
   * Reads a HEADER or VALUE message and decodes its CBOR.
   * @returns the decoded value, or null at a clean end of input when `eofOk`
   * @throws PeerResetError when the peer sent a RESET instead
   * @throws ProtocolError / ConnectionError (and poisons the connection)
   */
  async readMessage(type: MessageType, what: string, options: { eofOk?: boolean } = {}): Promise<unknown> {
    this.#check();
    const limit = type === FrameType.HEADER ? MAX_HEADER_BYTES : MAX_VALUE_BYTES;
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const frame = await this.#nextFrame();
      if (frame === null) {
        if (parts.length === 0 && options.eofOk) return null;
        if (parts.length === 0) throw this.#poison(new ConnectionError(`The peer closed the connection while ${what} was expected`));
        // Inside a message the peer broke the framing, and our output may still be open: RESET.
        throw this.#poison(
          new ProtocolError(`The connection ended inside ${what}: ${total} bytes in ${parts.length} ${frameTypeName(type)} frame${parts.length === 1 ? "" : "s"}, none with END`),
        );
      }
      if (frame.type === FrameType.RESET) {
        if (this.decodeReset(frame.payload).scope === "stream") continue; // a cancel that crossed our trailer
        throw this.#peerReset(frame);
      }
      if (frame.type !== type) {
        throw this.#poison(new ProtocolError(`Expected ${what} (${frameTypeName(type)} frame), got a ${frameTypeName(frame.type)} frame`));
      }
      total += frame.payload.length;
      if (total > limit) throw this.#poison(new ProtocolError(`${capitalize(what)} is larger than its limit of ${limit} bytes`));
      if (frame.end && parts.length === 0) return this.#decode(frame.payload, what);
      parts.push(frame.payload.slice()); // the next read reuses the reader's buffer
      if (frame.end) return this.#decode(Buffer.concat(parts), what);
    }
  }

  /**
   * Poisons the connection for a protocol error found above this layer (a header that decodes but
   * does not parse, a frame that breaks the call sequence): RULE1, as for one found here.
   * @returns the error the connection now fails with (an earlier one, if it was already broken)
   */
  fail(err: ProtocolError): Error {
    this.#poison(err);
    return this.#broken!;
  }

  /**
   * Checks a decoded message against its schema, for a message whose shape the protocol fixes (a
   * response header): one that does not fit is a protocol error, not a refusal.
   * @throws ProtocolError (and poisons the connection)
   */
  checkShape<T>(value: unknown, what: string, parse: (v: unknown, path: string) => T): T {
    try {
      return parse(value, what);
    } catch (err) {
      throw this.#poison(new ProtocolError(`Invalid ${what}: ${(err as Error).message}`));
    }
  }

  /** Writes a HEADER or VALUE message. */
  async writeMessage(type: MessageType, value: unknown): Promise<void> {
    this.#check();
    await this.#write(() => this.#writer.writeMessage(type, encodeCbor(value)));
  }

  /** Ends an octet stream with its outcome. */
  async writeTrailer(trailer: Trailer): Promise<void> {
    const t = trailer.error === undefined ? trailer : { ...trailer, error: clampErrorText(trailer.error) };
    await this.#write(() => this.#writer.writeFrame(FrameType.TRAILER, true, encodeCbor(t)));
  }

  /** Sends a RESET: cancels the body the peer is sending ("stream"), or announces that this side is closing ("connection"). */
  async writeReset(reason: string, scope: ResetScope): Promise<void> {
    await this.#write(() => this.#writer.writeFrame(FrameType.RESET, true, encodeCbor({ reason: clampErrorText(reason), scope } satisfies Reset)));
  }

  /**
   * Decodes a RESET payload.
   * @throws ProtocolError (and poisons the connection) when it is malformed
   */
  decodeReset(payload: Uint8Array): Reset {
    return this.#parse(payload, "reset", parseReset);
  }

  /** Sends a keep-alive; used while a handler works before its response. */
  writeHeartbeat(): void {
    if (!this.#broken) this.#writer.writeFrame(FrameType.HEARTBEAT, true).catch(() => {});
  }

  /**
   * Starts reading the next frame now, without taking it: a producer uses this to notice a RESET
   * (or the peer hanging up) while it streams. The next read returns the same frame.
   */
  peekFrame(): Promise<Frame | null> {
    this.#pending ??= this.#readFrameSkippingHeartbeats();
    return this.#pending;
  }

  /** Drops a frame obtained with `peekFrame` (a RESET that cancelled our stream was handled). */
  dropPeekedFrame(): void {
    this.#pending = null;
  }

  /**
   * Streams `source` to EOF as DATA frames (not the trailer: see writeTrailer).
   * @returns the bytes sent, and whether `signal` stopped it early
   */
  async sendOctets(source: OctetSource, options: { signal?: AbortSignal; probe?: ProgressProbe; rateBytes?: number } = {}): Promise<{ bytes: number; aborted: boolean }> {
    this.#check();
    await this.#writer.flush(); // control frames already queued go first
    const outFd = this.duplex.sink.fd;
    try {
      if (isFdSource(source) && outFd !== undefined) {
        const handle = startSendPump(source.fd, outFd, options.rateBytes ? { rateBytes: options.rateBytes } : {});
        if (options.probe) options.probe.bytes = handle.bytes;
        const onAbort = () => handle.abort();
        options.signal?.addEventListener("abort", onAbort);
        try {
          const result = await handle.result;
          return { bytes: result.bytes, aborted: result.aborted };
        } finally {
          options.signal?.removeEventListener("abort", onAbort);
        }
      }
      return await this.#sendOctetsPortable(isFdSource(source) ? new FdSource(source.fd) : iterableSource(source), options);
    } catch (err) {
      throw this.#poison(err as Error);
    }
  }

  /**
   * Receives an octet body into `sink` until its trailer. When the sink fails, or `signal` fires,
   * the producer is sent a RESET and the rest of the stream is drained, so the connection stays usable.
   * @throws PeerResetError when the producer closed the connection instead of finishing
   * @throws what a GatedSink's `open` threw, after the refused body was drained
   */
  async receiveOctets(sink: BodySink, options: { signal?: AbortSignal; probe?: ProgressProbe } = {}): Promise<ReceivedBody> {
    this.#check();
    if (isGatedSink(sink)) return this.#receiveGated(sink, options);
    return this.#receiveInto(sink, options, 0);
  }

  /** Closes the connection: ends our output and releases the transport. */
  async close(): Promise<void> {
    try {
      await this.#writer.flush();
    } catch {
      // the peer is gone; nothing left to flush to
    }
    await this.duplex.close();
  }

  // --- internal ---

  /** The rest of a body into `sink`; `already` counts the payload bytes a gate took before. */
  async #receiveInto(sink: OctetSink, options: { signal?: AbortSignal; probe?: ProgressProbe }, already: number): Promise<ReceivedBody> {
    let cancelled: string | null = null;
    let discard = () => {};
    const cancel = (reason: string) => {
      if (cancelled !== null) return;
      cancelled = reason;
      discard();
      this.writeReset(reason, "stream").catch(() => {});
    };
    const onAbort = () => cancel(String(options.signal?.reason ?? "cancelled by the receiver"));
    options.signal?.addEventListener("abort", onAbort);
    try {
      const inFd = this.duplex.source.fd;
      if (inFd !== undefined && typeof sink !== "function" && this.#pending === null) {
        const handle = startReceivePump(inFd, this.#reader.takeBuffered(), sink.fd, {
          idleTimeoutMs: this.idleTimeoutMs,
          onSinkError: (message) => cancel(`The receiver failed: ${message}`),
        });
        discard = handle.discard;
        if (options.probe) options.probe.bytes = already === 0 ? handle.bytes : () => already + handle.bytes();
        if (options.signal?.aborted) onAbort();
        let result;
        try {
          result = await handle.result;
        } catch (err) {
          throw this.#poison(err as Error);
        }
        this.#reader.giveBack(result.leftover);
        this.#lastInputAt = Date.now();
        if (result.end.type === FrameType.RESET) {
          const frame = { type: FrameType.RESET, end: true, payload: result.end.payload } as const;
          if (this.decodeReset(frame.payload).scope === "stream") throw this.#poison(new ProtocolError("A stream RESET arrived inside the stream it would cancel"));
          throw this.#peerReset(frame);
        }
        return this.#finishBody(result.end.payload, already + result.bytes, result.sinkError);
      }
      return await this.#receiveOctetsPortable(sink, options, cancel, () => cancelled, already);
      // A cancel by `signal` is not a sink error: the producer's trailer says whether it stopped.
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * A GatedSink: reads DATA frames until `headBytes` payload bytes (or the trailer) are in hand,
   * lets `open` choose the sink, hands it what was read, then streams the rest as usual.
   */
  async #receiveGated(gate: GatedSink, options: { signal?: AbortSignal; probe?: ProgressProbe }): Promise<ReceivedBody> {
    const parts: Uint8Array[] = [];
    let held = 0;
    let trailer: Uint8Array | null = null;
    if (options.probe) options.probe.bytes = () => held;
    while (held < gate.headBytes) {
      const frame = await this.#nextFrame();
      if (frame === null) throw this.#poison(new ConnectionError("The connection ended in the middle of an octet stream, before its trailer"));
      if (frame.type === FrameType.DATA) {
        parts.push(frame.payload.slice()); // the next read reuses the reader's buffer
        held += frame.payload.length;
      } else if (frame.type === FrameType.TRAILER) {
        trailer = frame.payload.slice();
        break;
      } else if (frame.type === FrameType.RESET) {
        if (this.decodeReset(frame.payload).scope === "stream") throw this.#poison(new ProtocolError("A stream RESET arrived inside the stream it would cancel"));
        throw this.#peerReset(frame);
      } else {
        throw this.#poison(new ProtocolError(`Unexpected ${frameTypeName(frame.type)} frame inside an octet stream`));
      }
    }
    // A producer that failed before the head arrived: its reason is the answer, nothing is opened.
    if (trailer !== null && !this.#parse(trailer, "trailer", parseTrailer).ok) return this.#finishBody(trailer, held, null);
    const head = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    let sink: OctetSink;
    try {
      sink = await gate.open(head.subarray(0, Math.min(head.length, gate.headBytes)));
    } catch (refusal) {
      if (trailer !== null) this.#finishBody(trailer, held, null);
      else {
        const reason = clampErrorText((refusal as Error).message);
        await this.writeReset(reason, "stream");
        await this.#receiveOctetsPortable(() => {}, {}, () => {}, () => reason, held);
      }
      throw refusal;
    }
    let sinkError: string | null = null;
    if (head.length > 0) {
      try {
        await (typeof sink === "function" ? sink(head) : fdWriter(sink.fd)(head));
      } catch (err) {
        sinkError = `writing the stream failed: ${(err as Error).message}`;
      }
    }
    if (trailer !== null) return this.#finishBody(trailer, held, sinkError);
    if (sinkError !== null) {
      const reason = `The receiver failed: ${sinkError}`;
      await this.writeReset(reason, "stream");
      const drained = await this.#receiveOctetsPortable(() => {}, {}, () => {}, () => reason, held);
      return { ...drained, sinkError };
    }
    return this.#receiveInto(sink, options, held);
  }


  async #sendOctetsPortable(source: ByteSource, options: { signal?: AbortSignal; probe?: ProgressProbe }): Promise<{ bytes: number; aborted: boolean }> {
    const buf = new Uint8Array(sendFrameBytes());
    let bytes = 0;
    if (options.probe) options.probe.bytes = () => bytes;
    for (;;) {
      let n = 0;
      let eof = false;
      while (n < buf.length) {
        if (options.signal?.aborted) return { bytes, aborted: true };
        const k = await source.read(buf.subarray(n));
        if (k === 0) {
          eof = true;
          break;
        }
        n += k;
      }
      if (n > 0) {
        await this.#writer.writeFrame(FrameType.DATA, false, buf.subarray(0, n)); // buf is reused once this resolves
        bytes += n;
      }
      if (eof) return { bytes, aborted: false };
    }
  }

  async #receiveOctetsPortable(
    sink: OctetSink,
    options: { probe?: ProgressProbe },
    cancel: (reason: string) => void,
    cancelled: () => string | null,
    already = 0,
  ): Promise<ReceivedBody> {
    const write = typeof sink === "function" ? sink : fdWriter(sink.fd);
    let sinkError: string | null = null;
    let bytes = already;
    if (options.probe) options.probe.bytes = () => bytes;
    for (;;) {
      const frame = await this.#nextFrame();
      if (frame === null) throw this.#poison(new ProtocolError(`The connection ended inside an octet stream, before its trailer (after ${bytes} payload bytes)`));
      switch (frame.type) {
        case FrameType.DATA:
          bytes += frame.payload.length;
          if (sinkError === null && cancelled() === null) {
            try {
              await write(frame.payload);
            } catch (err) {
              sinkError = `writing the stream failed: ${(err as Error).message}`;
              cancel(`The receiver failed: ${sinkError}`);
            }
          }
          break;
        case FrameType.TRAILER:
          return this.#finishBody(frame.payload, bytes, sinkError);
        case FrameType.RESET:
          if (this.decodeReset(frame.payload).scope === "stream") throw this.#poison(new ProtocolError("A stream RESET arrived inside the stream it would cancel"));
          throw this.#peerReset(frame);
        default:
          throw this.#poison(new ProtocolError(`Unexpected ${frameTypeName(frame.type)} frame inside an octet stream`));
      }
    }
  }

  #finishBody(trailerBytes: Uint8Array, bytes: number, sinkError: string | null): ReceivedBody {
    const trailer = this.#parse(trailerBytes, "trailer", parseTrailer);
    if (trailer.ok && trailer.bytes !== bytes) {
      throw this.#poison(new ProtocolError(`The trailer reports ${trailer.bytes} bytes but ${bytes} arrived`));
    }
    return { bytes, error: trailer.ok ? null : trailer.error ?? "the sender failed without a reason", sinkError };
  }

  async #nextFrame(): Promise<Frame | null> {
    const frame = this.#pending ?? this.#readFrameSkippingHeartbeats();
    this.#pending = null;
    if (this.idleTimeoutMs <= 0) return frame;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const idle = new Promise<never>((_, reject) => {
      const check = () => {
        const quiet = Date.now() - this.#lastInputAt;
        if (quiet >= this.idleTimeoutMs) reject(new ConnectionError(`The peer sent nothing for ${formatSeconds(quiet)} (idle timeout)`));
        else timer = setTimeout(check, this.idleTimeoutMs - quiet);
      };
      timer = setTimeout(check, this.idleTimeoutMs);
    });
    try {
      return await Promise.race([frame, idle]);
    } catch (err) {
      throw this.#poison(err as Error);
    } finally {
      clearTimeout(timer);
    }
  }

  async #readFrameSkippingHeartbeats(): Promise<Frame | null> {
    for (;;) {
      const frame = await this.#reader.next();
      this.#lastInputAt = Date.now();
      if (frame === null || frame.type !== FrameType.HEARTBEAT) return frame;
    }
  }

  #decode(bytes: Uint8Array, what: string): unknown {
    try {
      return decodeCbor(bytes, what);
    } catch (err) {
      throw this.#poison(err as Error);
    }
  }

  #parse<T>(bytes: Uint8Array, what: string, parse: (v: unknown, path: string) => T): T {
    return this.checkShape(this.#decode(bytes, what), what, parse);
  }

  #peerReset(frame: Frame): PeerResetError {
    const reset = this.#parse(frame.payload, "reset", parseReset);
    const err = new PeerResetError(reset.reason);
    this.#broken ??= err;
    return err;
  }

  async #write(op: () => Promise<void>): Promise<void> {
    this.#check(); // RULE1: nothing more goes out once the connection is poisoned
    try {
      await op();
    } catch (err) {
      throw this.#poison(new ConnectionError(`Writing to the peer failed: ${(err as Error).message}`, { cause: err }));
    }
  }

  #check(): void {
    if (this.#broken) throw this.#broken;
  }

  /** RULE1: remember the first fatal error, tell the peer (best effort) and close. */
  #poison(err: Error): Error {
    if (this.#broken) return err;
    if (!(err instanceof ProtocolError || err instanceof ConnectionError || err instanceof PeerResetError)) err = new ConnectionError(err.message, { cause: err });
    this.#broken = err;
    if (err instanceof ProtocolError || err.message.includes("idle timeout")) {
      const reset: Reset = { reason: clampErrorText(`${err.name}: ${err.message}`), scope: "connection" };
      this.#writer.writeFrame(FrameType.RESET, true, encodeCbor(reset)).catch(() => {});
    }
    this.#writer.flush().catch(() => {}).finally(() => this.duplex.close().catch(() => {}));
    return err;
  }
}

function iterableSource(chunks: AsyncIterable<Uint8Array>): ByteSource {
  const it = chunks[Symbol.asyncIterator]();
  let current: Uint8Array = new Uint8Array(0);
  return {
    async read(buf) {
      while (current.length === 0) {
        const next = await it.next();
        if (next.done) return 0;
        current = next.value;
      }
      const n = Math.min(buf.length, current.length);
      buf.set(current.subarray(0, n));
      current = current.subarray(n);
      return n;
    },
  };
}

function fdWriter(fd: number): (chunk: Uint8Array) => Promise<void> {
  const sink = new FdSink(fd);
  return (chunk) => sink.write([chunk]);
}

function withTimeout<T>(p: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(error()), ms)))]).finally(() => clearTimeout(timer));
}

function formatSeconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
