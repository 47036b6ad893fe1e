/**
 * Endpoints: one typed registration each. `args` parses the request's arguments before the handler
 * runs, so a handler only ever sees validated, typed values; the body and response kinds are part
 * of the definition and checked against every request header.
 */
import type { ConsolaInstance } from "consola";
import type { BodyKind } from "./messages.ts";
import type { BodySink, OctetProducer, ProgressProbe, ReceivedBody } from "./octets.ts";
import type { Parser } from "./schema.ts";

/** The request body as a handler sees it. */
export interface IncomingOctets {
  /**
   * Streams the body into `sink`; call at most once. A body the handler does not read is drained.
   * @throws what a GatedSink's `open` threw, once the refused body is drained
   */
  pipeTo(sink: BodySink, options?: { signal?: AbortSignal; probe?: ProgressProbe }): Promise<ReceivedBody>;
}

export interface HandlerContext<B extends BodyKind> {
  /** The request body: nothing, the decoded CBOR value, or the octet stream. */
  readonly body: B extends "octets" ? IncomingOctets : B extends "value" ? unknown : undefined;
  /** Aborted when the connection is lost. */
  readonly signal: AbortSignal;
  readonly log: ConsolaInstance;
  /** Facts for the request log line (dataset, bytes, …). */
  readonly note: Record<string, unknown>;
}

export type HandlerResult<R extends BodyKind> = R extends "octets" ? OctetProducer : R extends "value" ? unknown : void;

export interface Endpoint<A = unknown, B extends BodyKind = BodyKind, R extends BodyKind = BodyKind> {
  readonly name: string;
  readonly args: Parser<A>;
  readonly body: B;
  readonly response: R;
  handle(args: A, ctx: HandlerContext<B>): Promise<HandlerResult<R>>;
}

/** Identity helper that infers the handler's types from its parser and body kinds. */
export function defineEndpoint<A, const B extends BodyKind, const R extends BodyKind>(endpoint: Endpoint<A, B, R>): Endpoint<A, B, R> {
  if (!/^[a-z][a-z0-9_.]{0,63}$/.test(endpoint.name)) throw new TypeError(`Invalid endpoint name ${JSON.stringify(endpoint.name)}`);
  return endpoint;
}

/** The endpoints one server offers. Registration rejects duplicates. */
export class EndpointRegistry {
  readonly #endpoints = new Map<string, Endpoint<any, BodyKind, BodyKind>>();

  constructor(endpoints: Iterable<Endpoint<any, any, any>> = []) {
    for (const e of endpoints) this.register(e);
  }

  register(endpoint: Endpoint<any, any, any>): this {
    if (this.#endpoints.has(endpoint.name)) throw new Error(`Endpoint ${JSON.stringify(endpoint.name)} is registered twice`);
    this.#endpoints.set(endpoint.name, endpoint);
    return this;
  }

  get(name: string): Endpoint<unknown, BodyKind, BodyKind> | undefined {
    return this.#endpoints.get(name);
  }

  names(): string[] {
    return [...this.#endpoints.keys()];
  }
}
