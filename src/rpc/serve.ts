/**
 * The server loop: read a request, check it against its endpoint, run the handler, answer. This is
 * the one place that turns errors into wire statuses: an RpcError keeps its status, a validation
 * failure is bad_request, anything else is server_error with the detail in the log only.
 *
 * Sequence per call (docs/protocol.md §Calls):
 *   C→S HEADER {endpoint, args, body, accept}, then the request body
 *   S→C HEADER {status, message?, body}, then the response body
 * A refused octet request is answered before its body ends; the body is then drained.
 */
import type { ConsolaInstance } from "consola";
import { ConnectionError, FrameType, HEARTBEAT_INTERVAL_MS, ProtocolError, frameTypeName } from "../wire/index.ts";
import type { RpcConnection } from "./connection.ts";
import type { Endpoint, EndpointRegistry, IncomingOctets } from "./endpoint.ts";
import { PeerResetError, RpcError, type Status } from "./errors.ts";
import { decodeCbor } from "./codec.ts";
import { clampErrorText, parseRequestHeader, parseReset, type BodyKind, type RequestHeader } from "./messages.ts";
import type { OctetProducer, ReceivedBody } from "./octets.ts";
import { ValidationError } from "./schema.ts";

export interface ServeOptions {
  log: ConsolaInstance;
  /** Called after every call with facts for the request log. */
  onCallDone?: (entry: CallLogEntry) => void;
}

/**
 * How a call ended, for the log: the status it was answered with, or what broke the connection
 * during it (then the status on the wire, if any, is not the outcome).
 */
export type CallOutcome = Status | "protocol_error" | "connection_lost";

export interface CallLogEntry {
  endpoint: string;
  /** The client's request id, when it sent one. */
  request?: string;
  status: CallOutcome;
  durationMs: number;
  message?: string;
  note: Record<string, unknown>;
}

/**
 * Serves calls until the peer closes the connection ("closed") or the connection breaks ("lost",
 * after logging; the peer was sent a RESET where that was still possible). Never throws for
 * anything the peer does.
 */
export async function serve(conn: RpcConnection, registry: EndpointRegistry, options: ServeOptions): Promise<"closed" | "lost"> {
  const { log } = options;
  const lost = new AbortController();
  try {
    for (;;) {
      let raw: unknown;
      try {
        raw = await conn.readMessage(FrameType.HEADER, "a request header", { eofOk: true });
      } catch (err) {
        if (err instanceof PeerResetError) log.info(`The client closed the connection: ${err.message}`);
        else if (err instanceof ProtocolError) log.warn(`Protocol error from the client: ${err.message}`);
        else log.warn(`Connection lost: ${(err as Error).message}`);
        return err instanceof PeerResetError ? "closed" : "lost";
      }
      if (raw === null) return "closed"; // orderly close between calls
      let header: RequestHeader;
      try {
        header = parseRequestHeader(raw, "request header");
      } catch (err) {
        // Without a valid header the body cannot be framed: the connection is out of sync.
        const broken = conn.fail(new ProtocolError(`Malformed request header: ${(err as Error).message}`));
        log.warn(`Protocol error from the client: ${broken.message}`);
        return "lost";
      }
      const ok = await serveCall(conn, registry, header, lost.signal, options);
      if (!ok) return "lost";
    }
  } finally {
    lost.abort(new ConnectionError("connection closed"));
  }
}

// --- internal ---

/** Serves one call; false when the connection cannot carry another. */
async function serveCall(conn: RpcConnection, registry: EndpointRegistry, header: RequestHeader, signal: AbortSignal, options: ServeOptions): Promise<boolean> {
  const started = performance.now();
  const note: Record<string, unknown> = {};
  const log = options.log;
  const done = (status: CallOutcome, message?: string) =>
    options.onCallDone?.({ endpoint: header.endpoint, request: header.request, status, durationMs: Math.round(performance.now() - started), message, note });

  try {
    const endpoint = registry.get(header.endpoint);
    let args: unknown;
    let refusal: RpcError | null = null;
    if (!endpoint) refusal = new RpcError("bad_request", `Unknown endpoint ${JSON.stringify(header.endpoint)}`);
    else if (header.body !== endpoint.body) refusal = new RpcError("bad_request", `Endpoint ${endpoint.name} takes a request body of kind "${endpoint.body}", got "${header.body}"`);
    else if (header.accept !== endpoint.response) refusal = new RpcError("bad_request", `Endpoint ${endpoint.name} answers with a body of kind "${endpoint.response}", the request accepts "${header.accept}"`);
    else {
      try {
        args = endpoint.args(header.args, "args");
      } catch (err) {
        if (!(err instanceof ValidationError || err instanceof TypeError)) throw err;
        refusal = new RpcError("bad_request", `Invalid arguments for ${endpoint.name}: ${(err as Error).message}`);
      }
    }
    if (refusal || !endpoint) {
      await refuseAndDrain(conn, header.body, refusal!);
      done(refusal!.status, refusal!.message);
      return true;
    }
    return await runHandler(conn, endpoint, args, signal, log, note, done);
  } catch (err) {
    if (err instanceof ProtocolError) {
      log.warn(`${header.endpoint}: protocol error from the client: ${err.message}`);
      done("protocol_error", err.message);
      return false;
    }
    if (err instanceof ConnectionError || err instanceof PeerResetError) {
      log.warn(`${header.endpoint}: connection lost: ${err.message}`);
      done("connection_lost", err.message);
      return false;
    }
    throw err;
  }
}

async function runHandler(
  conn: RpcConnection,
  endpoint: Endpoint<unknown, BodyKind, BodyKind>,
  args: unknown,
  signal: AbortSignal,
  log: ConsolaInstance,
  note: Record<string, unknown>,
  done: (status: CallOutcome, message?: string) => void,
): Promise<boolean> {
  // Request body
  let body: unknown;
  let octets: { consumed: boolean; received?: ReceivedBody } | null = null;
  if (endpoint.body === "value") body = await conn.readMessage(FrameType.VALUE, "the request body");
  if (endpoint.body === "octets") {
    const state: { consumed: boolean; received?: ReceivedBody } = { consumed: false };
    octets = state;
    body = {
      async pipeTo(sink, opts) {
        if (state.consumed) throw new Error("The request body was already read");
        state.consumed = true;
        state.received = await conn.receiveOctets(sink, opts);
        return state.received;
      },
    } satisfies IncomingOctets;
  }

  // Handler, with heartbeats so the client's idle timer sees we are alive
  const heartbeat = setInterval(() => conn.writeHeartbeat(), HEARTBEAT_INTERVAL_MS);
  let result: unknown;
  let failure: RpcError | null = null;
  try {
    result = await endpoint.handle(args, { body, signal, log, note } as never);
  } catch (err) {
    if (err instanceof ProtocolError || err instanceof ConnectionError || err instanceof PeerResetError) throw err;
    failure = toRpcError(err, endpoint.name, log);
  } finally {
    clearInterval(heartbeat);
  }

  if (failure) {
    if (octets && !octets.consumed) {
      await refuseAndDrain(conn, "octets", failure);
    } else {
      await conn.writeMessage(FrameType.HEADER, { status: failure.status, message: clampErrorText(failure.message), body: "none" });
    }
    done(failure.status, failure.message);
    return true;
  }
  if (octets && !octets.consumed) {
    await conn.receiveOctets(() => {}); // the handler ignored the body: drain it to keep in step
  }

  // Response
  if (endpoint.response === "none") {
    await conn.writeMessage(FrameType.HEADER, { status: "ok", body: "none" });
  } else if (endpoint.response === "value") {
    await conn.writeMessage(FrameType.HEADER, { status: "ok", body: "value" });
    await conn.writeMessage(FrameType.VALUE, result);
  } else {
    await conn.writeMessage(FrameType.HEADER, { status: "ok", body: "octets" });
    const outcome = await streamResponse(conn, result as OctetProducer, note);
    done("ok", outcome.error ?? undefined);
    return true;
  }
  done("ok");
  return true;
}

/**
 * Streams a producer's bytes as the response body and ends them with a trailer. Meanwhile it
 * watches the input: a RESET cancels the stream, EOF means the client is gone; both stop the
 * producer (kill its child) at once.
 * @returns the bytes sent and the trailer's error, when the stream ended with a trailer
 * @throws ProtocolError (the connection is poisoned) when the client broke the protocol meanwhile
 * @throws ConnectionError / PeerResetError when the client is gone
 */
async function streamResponse(conn: RpcConnection, producer: OctetProducer, note: Record<string, unknown>): Promise<{ bytes: number; error: string | null }> {
  const stop = new AbortController();
  /** cancel: a stream RESET (the connection stays usable); fatal: the client left or broke the rules. */
  let interruption: { reason: string; fatal: Error | null } | null = null;
  const interrupt = (reason: string, fatal: Error | null) => {
    if (interruption) return;
    interruption = { reason, fatal };
    producer.abort(reason);
    stop.abort(reason);
  };
  let streaming = true;
  conn.peekFrame().then(
    (frame) => {
      if (!streaming) return;
      if (frame === null) return interrupt("the client disconnected", new ConnectionError("The client disconnected during the response stream"));
      if (frame.type !== FrameType.RESET) {
        const what = frame.type === FrameType.HEADER ? "a new request (HEADER frame)" : `a ${frameTypeName(frame.type)} frame`;
        return interrupt("the client broke the protocol", new ProtocolError(`The client sent ${what} before the response body ended`));
      }
      let reset;
      try {
        reset = parseReset(decodeCbor(frame.payload, "reset"), "reset");
      } catch (err) {
        const e = err instanceof ProtocolError ? err : new ProtocolError(`Invalid reset: ${(err as Error).message}`);
        return interrupt("the client broke the protocol", e);
      }
      if (reset.scope === "stream") {
        conn.dropPeekedFrame();
        interrupt(`cancelled by the client: ${reset.reason}`, null);
      } else interrupt(`the client closed the connection: ${reset.reason}`, new PeerResetError(reset.reason));
    },
    (err: Error) => interrupt(`connection lost: ${err.message}`, err),
  );

  let sent: { bytes: number; aborted: boolean };
  try {
    sent = await conn.sendOctets(producer.source, { signal: stop.signal, rateBytes: producer.rateBytes });
  } catch (err) {
    interrupt((err as Error).message, err as Error);
    await producer.finish();
    throw err;
  } finally {
    streaming = false;
  }
  note.bytes = sent.bytes;
  const failure = await producer.finish();
  const i = interruption as { reason: string; fatal: Error | null } | null;
  // RULE: the connection is poisoned (and its RESET written) only now that the data pump, which
  // writes to the same fd, has stopped; a RESET written during the stream could split a frame.
  if (i?.fatal) throw i.fatal instanceof ProtocolError ? conn.fail(i.fatal) : i.fatal;
  const error = i ? i.reason : failure;
  if (error !== null) note.error = error;
  await conn.writeTrailer(error === null ? { ok: true, bytes: sent.bytes } : { ok: false, bytes: sent.bytes, error });
  return { bytes: sent.bytes, error };
}

/** Answers with an error before (octets) or after (value) the request body, and discards the body. */
async function refuseAndDrain(conn: RpcConnection, body: BodyKind, refusal: RpcError): Promise<void> {
  if (body === "value") await conn.readMessage(FrameType.VALUE, "the request body");
  await conn.writeMessage(FrameType.HEADER, { status: refusal.status, message: clampErrorText(refusal.message), body: "none" });
  if (body === "octets") await conn.receiveOctets(() => {});
}

function toRpcError(err: unknown, endpoint: string, log: ConsolaInstance): RpcError {
  if (err instanceof RpcError) return err;
  if (err instanceof ValidationError) return new RpcError("bad_request", err.message);
  log.error(`${endpoint}: unexpected error:`, err);
  return new RpcError("server_error", `Internal error in ${endpoint}; see the server log`);
}

