/** Bytes in, bytes out: what every transport provides. Transports know nothing of frames. */

export interface ByteSource {
  /** Reads up to `buf.length` bytes into `buf`; resolves 0 at the end of input. */
  read(buf: Uint8Array): Promise<number>;
  /** The file descriptor behind this source, when the data path may read it directly. */
  readonly fd?: number;
}

export interface ByteSink {
  /** Writes every byte of `chunks`, in order, as if concatenated. */
  write(chunks: readonly Uint8Array[]): Promise<void>;
  /** Ends the output: the peer reads EOF. */
  end(): Promise<void>;
  /** The file descriptor behind this sink, when the data path may write it directly. */
  readonly fd?: number;
}

/** A connection whose other end is a program or session that ends with an exit code. */
export interface ServerDuplex extends Duplex {
  /** Resolves with the exit code once the other end has ended (a child: exited and been reaped). */
  readonly exited: Promise<number>;
}

/** A bidirectional byte connection. */
export interface Duplex {
  readonly source: ByteSource;
  readonly sink: ByteSink;
  /** For messages: "stdio", "ssh root@host", … */
  readonly label: string;
  /** Ends the output and releases everything (child processes included). Safe to call twice. */
  close(): Promise<void>;
  /** Extra detail for error messages when the connection failed (e.g. ssh's stderr). */
  diagnostics?(): string;
}
