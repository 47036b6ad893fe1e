/**
 * Reads the handshake line and then frames from a ByteSource, over whatever chunk boundaries the
 * source delivers. Payloads are views of the reader's one reused buffer: a frame's payload is
 * valid until the next call to `next()`; a caller that keeps one longer copies it.
 *
 * RULE: a length from the peer is compared with its limit (in decodeFrameHeader) before any byte
 * of the payload is waited for.
 */
import type { ByteSource } from "../transport/index.ts";
import { ProtocolError } from "./errors.ts";
import { decodeFrameHeader, frameTypeName, type FrameType } from "./frame.ts";
import { decodeHello, type Hello } from "./handshake.ts";
import { FRAME_HEADER_BYTES, MAX_FRAME_PAYLOAD } from "./limits.ts";

export interface Frame {
  readonly type: FrameType;
  readonly end: boolean;
  /** View into the reader's buffer: valid until the next `next()`. */
  readonly payload: Uint8Array;
}

export class FrameReader {
  readonly source: ByteSource;
  #buf = new Uint8Array(FRAME_HEADER_BYTES + MAX_FRAME_PAYLOAD);
  #start = 0;
  #end = 0;
  #eof = false;

  constructor(source: ByteSource) {
    this.source = source;
  }

  /**
   * Reads the peer's handshake line.
   * @throws ProtocolError for anything that is not a zferry handshake, or EOF before one
   */
  async readHello(): Promise<Hello> {
    for (;;) {
      const found = decodeHello(this.#buf.subarray(this.#start, this.#end));
      if (found) {
        this.#start += found.used;
        return found.hello;
      }
      if (!(await this.#fill())) {
        const got = this.#end - this.#start;
        throw new ProtocolError(got === 0 ? "The peer closed the connection before the handshake" : "The peer closed the connection in the middle of the handshake");
      }
    }
  }

  /**
   * Reads the next frame.
   * @returns the frame, or null at a clean end of input (between frames)
   * @throws ProtocolError for a malformed header, or input that ends inside a frame
   */
  async next(): Promise<Frame | null> {
    if (!(await this.#ensure(FRAME_HEADER_BYTES))) {
      if (this.#end === this.#start) return null;
      throw new ProtocolError(`The connection ended inside a frame header (${this.#end - this.#start} of ${FRAME_HEADER_BYTES} bytes)`);
    }
    const header = decodeFrameHeader(this.#buf, this.#start);
    const total = FRAME_HEADER_BYTES + header.length;
    if (!(await this.#ensure(total))) {
      throw new ProtocolError(
        `The connection ended inside a ${frameTypeName(header.type)} frame (${this.#end - this.#start - FRAME_HEADER_BYTES} of ${header.length} payload bytes)`,
      );
    }
    const payload = this.#buf.subarray(this.#start + FRAME_HEADER_BYTES, this.#start + total);
    this.#start += total;
    return { type: header.type, end: header.end, payload };
  }

  /**
   * Takes the bytes read ahead but not yet parsed, so a data pump can continue on the source's fd
   * without losing them. The reader is empty afterwards; `giveBack` returns what the pump did not use.
   */
  takeBuffered(): Uint8Array {
    const rest = this.#buf.slice(this.#start, this.#end);
    this.#start = this.#end = 0;
    return rest;
  }

  /** Puts unparsed bytes back in front of the input (after a data pump handed the fd back). */
  giveBack(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const rest = this.#buf.slice(this.#start, this.#end);
    this.#buf.set(bytes, 0);
    this.#buf.set(rest, bytes.length);
    this.#start = 0;
    this.#end = bytes.length + rest.length;
  }

  /** Waits until `n` unparsed bytes are buffered; false if the input ended first. */
  async #ensure(n: number): Promise<boolean> {
    while (this.#end - this.#start < n) {
      if (this.#buf.length - this.#start < n) this.#compact();
      if (!(await this.#fill())) return false;
    }
    return true;
  }

  #compact(): void {
    this.#buf.copyWithin(0, this.#start, this.#end);
    this.#end -= this.#start;
    this.#start = 0;
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    if (this.#end === this.#buf.length) this.#compact();
    const n = await this.source.read(this.#buf.subarray(this.#end));
    if (n === 0) {
      this.#eof = true;
      return false;
    }
    this.#end += n;
    return true;
  }
}
