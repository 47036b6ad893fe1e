/**
 * Writes frames to a ByteSink: each frame is one `write([header, payload])`, so the payload is never
 * copied into a combined buffer. Writes are queued in order; a failed write fails every later one.
 */
import type { ByteSink } from "../transport/index.ts";
import { FrameType, frameHeader } from "./frame.ts";
import { MAX_FRAME_PAYLOAD } from "./limits.ts";

export class FrameWriter {
  readonly sink: ByteSink;
  #tail: Promise<void> = Promise.resolve();

  constructor(sink: ByteSink) {
    this.sink = sink;
  }

  /** Writes raw bytes (the handshake line). */
  writeRaw(bytes: Uint8Array): Promise<void> {
    return this.#enqueue([bytes]);
  }

  /** Writes one frame. The payload must stay unchanged until the promise resolves. */
  writeFrame(type: FrameType, end: boolean, payload: Uint8Array = EMPTY): Promise<void> {
    const header = frameHeader(type, end, payload.length);
    return this.#enqueue(payload.length ? [header, payload] : [header]);
  }

  /** Writes a HEADER or VALUE message, cut into frames of at most MAX_FRAME_PAYLOAD, END on the last. */
  writeMessage(type: typeof FrameType.HEADER | typeof FrameType.VALUE, bytes: Uint8Array): Promise<void> {
    const chunks: Uint8Array[] = [];
    for (let off = 0; ; off += MAX_FRAME_PAYLOAD) {
      const part = bytes.subarray(off, off + MAX_FRAME_PAYLOAD);
      const last = off + MAX_FRAME_PAYLOAD >= bytes.length;
      chunks.push(frameHeader(type, last, part.length), part);
      if (last) break;
    }
    return this.#enqueue(chunks);
  }

  /** Resolves when everything queued so far has been written. */
  flush(): Promise<void> {
    return this.#tail;
  }

  #enqueue(chunks: Uint8Array[]): Promise<void> {
    const next = this.#tail.then(() => this.sink.write(chunks));
    this.#tail = next;
    return next;
  }
}

const EMPTY = new Uint8Array(0);
