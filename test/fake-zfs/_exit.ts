/**
 * Exiting the fake like zfs does: text on stderr/stdout via writeSync (never process.stdout, which
 * would turn fd 1 non-blocking under a stream writer), then a thrown `Exit` that main() turns into
 * the exit status.
 */
import { writeSync } from "node:fs";

export class Exit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}

export function err(text: string): void {
  writeAll(2, text);
}

export function out(text: string): void {
  writeAll(1, text);
}

/** Prints `message` (a newline is added) on stderr and exits with `code`. */
export function fail(code: number, message: string): never {
  err(`${message}\n`);
  throw new Exit(code);
}

export function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  for (let off = 0; off < bytes.length; ) {
    try {
      off += writeSync(fd, bytes, off, bytes.length - off);
    } catch (error) {
      if ((error as { code?: string }).code !== "EAGAIN") throw error;
      Bun.sleepSync(1);
    }
  }
}
