/**
 * The calling side: one call at a time on a connection (a second concurrent call is a programmer
 * error and throws at once).
 */
import { FrameType } from "../wire/index.ts";
import type { RpcConnection } from "./connection.ts";
import { RpcError, StreamError } from "./errors.ts";
import { parseResponseHeader, type BodyKind, type ResponseHeader } from "./messages.ts";
import type { BodySink, OctetProducer, ProgressProbe, ReceivedBody } from "./octets.ts";
import type { Parser } from "./schema.ts";
import { newRequestId } from "./request-id.ts";
import { logger } from "../log.ts";

const log = logger.withTag("rpc");

export interface CallOptions {
  /** The request body, if the endpoint takes one. */
  body?: { kind: "value"; value: unknown } | { kind: "octets"; producer: OctetProducer; probe?: ProgressProbe };
  /** Where an octet response goes. */
  sink?: BodySink;
  /** Cancels an octet response with a RESET (the connection stays usable). */
  signal?: AbortSignal;
  probe?: ProgressProbe;
  /** The call's request id (request-id.ts); a fresh one when absent. */
  requestId?: string;
}

export class RpcClient {
  readonly conn: RpcConnection;
  #busy = false;

  constructor(conn: RpcConnection) {
    this.conn = conn;
  }

  /** Calls an endpoint that answers with a CBOR value, parsed with `parse`. */
  async callValue<T>(endpoint: string, args: unknown, parse: Parser<T>, options: CallOptions = {}): Promise<T> {
    const { value } = await this.call(endpoint, args, "value", options);
    try {
      return parse(value, "response");
    } catch (err) {
      throw new RpcError("server_error", `Unexpected response from ${endpoint}: ${(err as Error).message}`);
    }
  }

  /** Calls an endpoint that answers with no body. */
  async callNone(endpoint: string, args: unknown, options: CallOptions = {}): Promise<void> {
    await this.call(endpoint, args, "none", options);
  }

  /**
   * Calls an endpoint that answers with an octet stream, written to `sink`.
   * @throws StreamError when the server's trailer reports a failure (its reason is the message;
   *   `sinkError` says whether our sink failed first). A sink failure alone (the server finished
   *   before our RESET reached it) is returned in `sinkError`.
   * @throws what a GatedSink's `open` threw, once the refused stream is drained
   */
  async callOctets(endpoint: string, args: unknown, sink: BodySink, options: CallOptions = {}): Promise<ReceivedBody> {
    const { received } = await this.call(endpoint, args, "octets", { ...options, sink });
    return received!;
  }

  /**
   * The general call. Resolves once the whole response (body included) has been read.
   * @throws RpcError when the server answered with an error status
   * @throws PeerResetError, ProtocolError, ConnectionError when the connection failed
   */
  async call(endpoint: string, args: unknown, accept: BodyKind, options: CallOptions = {}): Promise<{ header: ResponseHeader; value?: unknown; received?: ReceivedBody }> {
    if (this.#busy) throw new Error("A call is already in progress on this connection");
    this.#busy = true;
    const request = options.requestId ?? newRequestId();
    log.debug(`request=${request} endpoint=${endpoint}`);
    try {
      const bodyKind: BodyKind = options.body?.kind ?? "none";
      await this.conn.writeMessage(FrameType.HEADER, { endpoint, args, body: bodyKind, accept, request });
      if (options.body?.kind === "value") await this.conn.writeMessage(FrameType.VALUE, options.body.value);
      if (options.body?.kind === "octets") await this.#sendBody(options.body.producer, options.body.probe);

      const header = this.conn.checkShape(await this.conn.readMessage(FrameType.HEADER, "the response header"), "response header", parseResponseHeader);
      if (header.status !== "ok") {
        if (header.body !== "none") await this.#discardBody(header.body);
        throw new RpcError(header.status, header.message ?? header.status);
      }
      if (header.body !== accept) throw new RpcError("server_error", `${endpoint} answered with a "${header.body}" body, expected "${accept}"`);
      if (accept === "value") return { header, value: await this.conn.readMessage(FrameType.VALUE, "the response body") };
      if (accept === "octets") {
        const received = await this.conn.receiveOctets(options.sink ?? (() => {}), { signal: options.signal, probe: options.probe });
        if (received.error !== null) throw new StreamError(received.error, received.bytes, received.sinkError);
        return { header, received };
      }
      return { header };
    } catch (err) {
      // Tagged, not wrapped: callers branch on the class; whoever reports it adds the id (requestIdOf).
      if (err instanceof Error && !Object.hasOwn(err, "requestId")) Object.defineProperty(err, "requestId", { value: request, enumerable: false });
      throw err;
    } finally {
      this.#busy = false;
    }
  }

  /** Ends the conversation: the server sees EOF between calls and exits cleanly. */
  async close(): Promise<void> {
    await this.conn.close();
  }

  // --- internal ---

  /**
   * Streams the request body. The server may answer early (a refusal) or cancel with a RESET;
   * either stops the producer, and the body still ends with a trailer so both sides stay in step.
   */
  async #sendBody(producer: OctetProducer, probe?: ProgressProbe): Promise<void> {
    const stop = new AbortController();
    let streaming = true;
    let resetReason: string | null = null;
    this.conn.peekFrame().then(
      (frame) => {
        if (!streaming) return;
        if (frame?.type === FrameType.RESET) {
          try {
            const reset = this.conn.decodeReset(frame.payload);
            if (reset.scope === "stream") this.conn.dropPeekedFrame();
            resetReason = reset.scope === "stream" ? `cancelled by the server: ${reset.reason}` : `the server closed the connection: ${reset.reason}`;
          } catch (err) {
            resetReason = `the server sent a malformed RESET: ${(err as Error).message}`; // the connection is poisoned now
          }
        }
        const reason = frame === null ? "the server closed the connection" : resetReason ?? "the server answered before the body ended";
        producer.abort(reason);
        stop.abort(reason);
      },
      (err: Error) => {
        if (!streaming) return;
        producer.abort(err.message);
        stop.abort(err.message);
      },
    );
    let sent: { bytes: number; aborted: boolean };
    try {
      sent = await this.conn.sendOctets(producer.source, { signal: stop.signal, probe, rateBytes: producer.rateBytes });
    } catch (err) {
      streaming = false;
      producer.abort((err as Error).message);
      await producer.finish();
      throw err;
    }
    streaming = false;
    const failure = await producer.finish();
    const reason = sent.aborted ? String(stop.signal.reason ?? "aborted") : failure;
    await this.conn.writeTrailer(reason === null ? { ok: true, bytes: sent.bytes } : { ok: false, bytes: sent.bytes, error: reason });
  }

  async #discardBody(kind: BodyKind): Promise<void> {
    if (kind === "value") await this.conn.readMessage(FrameType.VALUE, "the response body");
    else if (kind === "octets") await this.conn.receiveOctets(() => {});
  }
}

