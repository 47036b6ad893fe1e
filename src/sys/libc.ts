/**
 * The few libc calls Bun has no API for: real pipes (Bun's "pipe" is a socketpair), pipe sizing,
 * FIONREAD, poll, splice, tee, sub-millisecond sleeps in a Worker, and flock(2) for run locks. Loaded lazily so that a platform
 * without libc.so.6 still runs the portable copy path; `libc()` returns null there.
 *
 * Pitfall (measured): small typed arrays can move under the GC, so a cached `ptr()` goes stale.
 * Every call here passes the TypedArray itself and lets bun:ffi take its address per call.
 */
import { FFIType, dlopen, toArrayBuffer } from "bun:ffi";

const symbols = {
  pipe2: { args: ["ptr", "i32"], returns: "i32" },
  fcntl: { args: ["i32", "i32", "i32"], returns: "i32" },
  ioctl: { args: ["i32", "u64", "ptr"], returns: "i32" },
  poll: { args: ["ptr", "u64", "i32"], returns: "i32" },
  // i64_fast: a plain number (a BigInt per call would be garbage in the data path's hot loop)
  splice: { args: ["i32", "ptr", "i32", "ptr", "u64", "u32"], returns: FFIType.i64_fast },
  tee: { args: ["i32", "i32", "u64", "u32"], returns: FFIType.i64_fast },
  usleep: { args: ["u32"], returns: "i32" },
  flock: { args: ["i32", "i32"], returns: "i32" },
  sysconf: { args: ["i32"], returns: FFIType.i64_fast },
  __errno_location: { args: [], returns: "ptr" },
} as const;

export type Libc = ReturnType<typeof dlopen<typeof symbols>>["symbols"];

let cached: Libc | null | undefined;

/** The libc symbols, or null where they cannot be loaded (not Linux/glibc). */
export function libc(): Libc | null {
  if (cached !== undefined) return cached;
  if (process.platform !== "linux") return (cached = null);
  try {
    cached = dlopen("libc.so.6", symbols).symbols;
  } catch {
    cached = null;
  }
  return cached;
}

export const O_CLOEXEC = 0o2000000;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const F_SETPIPE_SZ = 1031;
export const F_GETPIPE_SZ = 1032;
export const O_NONBLOCK = 0o4000;
export const FIONREAD = 0x541b;
export const POLLIN = 0x001;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;
export const SPLICE_F_MOVE = 1;
export const SPLICE_F_NONBLOCK = 2;
export const EINTR = 4;
export const EAGAIN = 11;
/** flock(2) operations; EWOULDBLOCK is EAGAIN on Linux. */
export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const EWOULDBLOCK = EAGAIN;
export const _SC_CLK_TCK = 2;

/** errno's thread-local location; this module is loaded once per thread (each Worker has its own). */
let errnoView: Int32Array | null = null;

/** errno of the last failed libc call on this thread (read without allocating: it runs in hot loops). */
export function errno(lib: Libc): number {
  if (errnoView === null) {
    const p = lib.__errno_location();
    if (p === null) return 0;
    errnoView = new Int32Array(toArrayBuffer(p, 0, 4));
  }
  return errnoView[0] ?? 0;
}

/** Clears O_NONBLOCK on `fd` (a runtime may have set it on stdio); returns false when it cannot. */
export function setBlocking(fd: number): boolean {
  const lib = libc();
  if (!lib) return false;
  const flags = lib.fcntl(fd, F_GETFL, 0);
  if (flags < 0) return false;
  return (flags & O_NONBLOCK) === 0 || lib.fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) === 0;
}
