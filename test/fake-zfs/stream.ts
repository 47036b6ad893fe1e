/**
 * The fake's send stream. A real stream is DRR records; the fake only needs what `zfs recv` reads
 * from the BEGIN record (toname, toguid, fromguid, flags, resume offset) and a way to notice a cut.
 * One record per snapshot (`-I` concatenates several), after a package where real zfs writes one:
 *
 *     [package]                  `-I` and `-p` only, as OpenZFS's zfs_send() writes it: a compound
 *                                DRR_BEGIN (toname, no GUIDs, no nvlist) and a DRR_END, 624 bytes
 *     DRR_BEGIN                  312 bytes, as real zfs writes it (type, magic, substream,
 *                                creation, toguid, fromguid, toname): what reads only a stream's
 *                                first records (zferry's stream gate, the server's check of a
 *                                send) sees real ones
 *     "FAKEZFS1"                 8 bytes magic
 *     header length              u32 big-endian
 *     header                     JSON RecordHeader
 *     payload[offset, payload)   deterministic bytes: payload byte i = PATTERN[i % PATTERN.length]
 *     "FAKEEND1"                 8 bytes; its absence means the stream was cut
 *
 * The payload is written from one reused 1 MiB buffer in large writes, so the fake keeps up with
 * GiB/s readers; `recv` discards it in 1 MiB reads without looking at it.
 */
import { readSync, writeSync } from "node:fs";
import type { StreamFlags } from "./state.ts";

export const MAGIC = Buffer.from("FAKEZFS1");
export const END = Buffer.from("FAKEEND1");
export const PATTERN_BYTES = 1 << 20;

export interface RecordHeader {
  /** Full name of the snapshot on the sending side. */
  toname: string;
  toguid: string;
  fromguid?: string;
  /** Full name of the incremental source on the sending side. */
  fromname?: string;
  creation: number;
  /** Total payload bytes of this snapshot. */
  payload: number;
  /** First payload byte in this record: non-zero for a resumed send. */
  offset: number;
  resume?: boolean;
  flags: StreamFlags;
  /** With -p: the sending dataset's local properties. */
  props?: Record<string, string>;
}

let pattern: Buffer | undefined;

/** The repeating payload pattern (xorshift32 from a fixed seed), built once per process. */
export function payloadPattern(): Buffer {
  if (pattern) return pattern;
  pattern = Buffer.allocUnsafe(PATTERN_BYTES);
  let x = 0x9e3779b9;
  for (let i = 0; i < PATTERN_BYTES; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    pattern.writeUInt32LE(x >>> 0, i);
  }
  return pattern;
}

/** Bytes of the bench payloads: larger than any zstd window used, so repeats are not found. */
const BENCH_PAYLOAD_BYTES = 16 << 20;
let bench: Buffer | null | undefined;

/**
 * FAKE_ZFS_PAYLOAD=text: log lines that compress about as well as real logs; =random: bytes that
 * do not compress. For the compression bench; unset, the payload is the test pattern.
 */
function benchPayload(): Buffer | null {
  if (bench !== undefined) return bench;
  const kind = process.env.FAKE_ZFS_PAYLOAD;
  if (kind === "random") {
    bench = Buffer.allocUnsafe(BENCH_PAYLOAD_BYTES);
    for (let off = 0; off < bench.length; off += 65536) crypto.getRandomValues(bench.subarray(off, off + 65536));
  } else if (kind === "text") {
    const lines: string[] = [];
    let x = 0x2545f491;
    let size = 0;
    while (size < BENCH_PAYLOAD_BYTES) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      const r = x >>> 0;
      const line = `2026-12-02T06:${String((r >>> 8) % 60).padStart(2, "0")}:${String(r % 60).padStart(2, "0")}.${r % 1000}Z INFO [job ${r % 17}] sent ${r % 100_000} bytes to host-${r % 251}.example in ${r % 5000} ms status=${r % 7 === 0 ? "retry" : "ok"}\n`;
      lines.push(line);
      size += line.length;
    }
    bench = Buffer.from(lines.join("")).subarray(0, BENCH_PAYLOAD_BYTES);
  } else {
    bench = null;
  }
  return bench;
}

/** Bytes of a DRR_BEGIN record (struct dmu_replay_record). */
export const BEGIN_BYTES = 312;
/** DMU_BACKUP_MAGIC, at offset 8 of a BEGIN record. */
export const BACKUP_MAGIC = 0x2f5bacbacn;
/** drr_type of the END record after a package. */
const DRR_END = 5;

/** The header bytes of a record: BEGIN record, magic, length, JSON. */
export function encodeHeader(header: RecordHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length);
  return Buffer.concat([beginRecord(header), MAGIC, len, json]);
}

/** A package: a compound DRR_BEGIN naming the snapshot (no GUIDs, no nvlist: payloadlen 0), then a DRR_END. */
export function packageRecords(toname: string): Buffer {
  const begin = Buffer.alloc(BEGIN_BYTES);
  begin.writeBigUInt64LE(BACKUP_MAGIC, 8);
  begin.writeBigUInt64LE(2n, 16); // DMU_COMPOUNDSTREAM
  begin.write(toname.slice(0, 255), 56, "utf8");
  const end = Buffer.alloc(BEGIN_BYTES);
  end.writeUInt32LE(DRR_END, 0);
  return Buffer.concat([begin, end]);
}

/** The header type of a DRR_BEGIN (DMU_GET_STREAM_HDRTYPE): 1 a substream, 2 a package. */
export function headerType(begin: Buffer): number {
  return Number(begin.readBigUInt64LE(16) & 3n);
}

/** A little-endian DRR_BEGIN: drr_type 0, drr_magic, drr_versioninfo (header type), creation, guids, toname. */
function beginRecord(h: RecordHeader): Buffer {
  const b = Buffer.alloc(BEGIN_BYTES);
  b.writeBigUInt64LE(BACKUP_MAGIC, 8);
  b.writeBigUInt64LE(1n, 16); // DMU_SUBSTREAM
  b.writeBigUInt64LE(BigInt(h.creation), 24);
  b.writeBigUInt64LE(BigInt(h.toguid), 40);
  if (h.fromguid !== undefined) b.writeBigUInt64LE(BigInt(h.fromguid), 48);
  b.write(h.toname.slice(0, 255), 56, "utf8");
  return b;
}

/** Exact size of a record on the wire. */
export function recordSize(header: RecordHeader): number {
  return encodeHeader(header).length + (header.payload - header.offset) + END.length;
}

/** Thrown by StreamWriter when FAKE_ZFS_FAIL_AFTER bytes have been written. */
export class FailAfter extends Error {}

/** Writes records to fd 1, optionally stopping after `failAfter` bytes. */
export class StreamWriter {
  readonly #fd: number;
  readonly #failAfter: number;
  #written = 0;

  constructor(fd: number, failAfter = Number.POSITIVE_INFINITY) {
    this.#fd = fd;
    this.#failAfter = failAfter;
  }

  get written(): number {
    return this.#written;
  }

  writePackage(toname: string): void {
    const bytes = packageRecords(toname);
    this.#write(bytes, 0, bytes.length);
  }

  writeRecord(header: RecordHeader): void {
    this.#write(encodeHeader(header), 0, encodeHeader(header).length);
    const pat = benchPayload() ?? payloadPattern();
    for (let pos = header.offset; pos < header.payload; ) {
      const start = pos % pat.length;
      const n = Math.min(pat.length - start, header.payload - pos);
      this.#write(pat, start, n);
      pos += n;
    }
    this.#write(END, 0, END.length);
  }

  #write(buf: Buffer, start: number, length: number): void {
    const allowed = Math.min(length, this.#failAfter - this.#written);
    let off = start;
    const end = start + Math.max(allowed, 0);
    while (off < end) {
      try {
        off += writeSync(this.#fd, buf, off, end - off);
      } catch (error) {
        if ((error as { code?: string }).code !== "EAGAIN") throw error;
        Bun.sleepSync(1);
      }
    }
    this.#written += end - start;
    if (allowed < length) throw new FailAfter();
  }
}

/**
 * Reads fd 0 in 1 MiB chunks; knows how to take exact bytes and skip the payload cheaply.
 * FAKE_ZFS_RECV_RATE (bytes/s) makes it a slow receiver, for backpressure benches.
 */
export class StreamReader {
  readonly #fd: number;
  readonly #buf = Buffer.allocUnsafe(1 << 20);
  readonly #rate = Number(process.env.FAKE_ZFS_RECV_RATE ?? 0);
  readonly #started = performance.now();
  #start = 0;
  #end = 0;
  #eof = false;
  #total = 0;

  constructor(fd: number) {
    this.#fd = fd;
  }

  /** Bytes consumed so far. */
  get total(): number {
    return this.#total;
  }

  /** Exactly `n` bytes (n ≤ 1 MiB), or fewer at end of stream. */
  take(n: number): Buffer {
    while (this.#end - this.#start < n && this.#fill()) {}
    const got = Math.min(n, this.#end - this.#start);
    const bytes = Buffer.from(this.#buf.subarray(this.#start, this.#start + got));
    this.#start += got;
    this.#total += got;
    return bytes;
  }

  /** Discards up to `n` bytes; returns how many were there before end of stream. */
  skip(n: number): number {
    let skipped = 0;
    while (skipped < n) {
      if (this.#start === this.#end && !this.#fill()) break;
      const k = Math.min(n - skipped, this.#end - this.#start);
      this.#start += k;
      skipped += k;
      this.#total += k; // counted as it goes: #fill throttles on it
    }
    return skipped;
  }

  /** Sleeps until reading more keeps the average at FAKE_ZFS_RECV_RATE. */
  #throttle(): void {
    if (this.#rate <= 0) return;
    const due = (this.#total / this.#rate) * 1000 - (performance.now() - this.#started);
    if (due > 1) Bun.sleepSync(due);
  }

  /** Reads until end of stream, discarding; returns the count. */
  drain(): number {
    return this.skip(Number.POSITIVE_INFINITY);
  }

  #fill(): boolean {
    if (this.#eof) return false;
    this.#throttle();
    if (this.#start === this.#end) this.#start = this.#end = 0;
    else if (this.#end === this.#buf.length) {
      this.#buf.copy(this.#buf, 0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    for (;;) {
      try {
        const n = readSync(this.#fd, this.#buf, this.#end, this.#buf.length - this.#end, null);
        if (n === 0) {
          this.#eof = true;
          return false;
        }
        this.#end += n;
        return true;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === "EAGAIN") {
          Bun.sleepSync(1);
          continue;
        }
        if (code === "EOF") {
          this.#eof = true;
          return false;
        }
        throw error;
      }
    }
  }
}
