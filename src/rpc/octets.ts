/**
 * What an octet-stream body is made of, on each side.
 */

/** Where a body's bytes come from: an fd read to EOF (fast path), or chunks. */
export type OctetSource = { readonly fd: number } | AsyncIterable<Uint8Array>;

/** Where a received body's bytes go: an fd (fast path), or a function per chunk (the chunk is a view, valid during the call). */
export type OctetSink = { readonly fd: number } | ((chunk: Uint8Array) => void | Promise<void>);

/**
 * A sink chosen from the body's first bytes: a receiver that must look at a stream before it
 * commits to it (a `zfs receive` that may only start for an acceptable stream). `open` gets the
 * first `headBytes` bytes (fewer only when the whole body is shorter) and returns where the whole
 * body goes, those bytes included; the rest then flows as it would into that sink (splice for an
 * fd). Throwing refuses the body: the producer is sent a stream RESET with the error's message,
 * the rest is drained, and the error is rethrown. When the producer fails before the head is
 * complete, `open` is not called and the body ends with the producer's error. Only the first
 * frames are held, never the stream.
 */
export interface GatedSink {
  readonly headBytes: number;
  open(head: Uint8Array): Promise<OctetSink>;
}

/** Where a received body goes: a sink, or one chosen from its first bytes. */
export type BodySink = OctetSink | GatedSink;

export function isGatedSink(s: BodySink): s is GatedSink {
  return typeof s !== "function" && typeof (s as { open?: unknown }).open === "function";
}

/** The producing side of an octet body: typically a `zfs send` child. */
export interface OctetProducer {
  readonly source: OctetSource;
  /** Called once the source ended or was aborted; resolves to null on success or the error text for the trailer. */
  finish(): Promise<string | null>;
  /** Stop producing (the peer cancelled, or the connection is gone): kill the child so the source ends. */
  abort(reason: string): void;
  /** Pace the body to this many bytes per second on the wire (fd sources on fd connections). */
  readonly rateBytes?: number;
}

/** How a received octet body ended. */
export interface ReceivedBody {
  /** Payload bytes received. */
  readonly bytes: number;
  /** null when the producer's trailer said ok; otherwise its error text. */
  readonly error: string | null;
  /** Set when writing to the sink failed; the stream was cancelled and drained. */
  readonly sinkError: string | null;
}

/** A live view of bytes moved so far, for progress lines. */
export interface ProgressProbe {
  bytes: () => number;
}

export function isFdSource(s: OctetSource): s is { readonly fd: number } {
  return typeof (s as { fd?: unknown }).fd === "number";
}
