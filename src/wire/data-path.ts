/**
 * Moves octet-stream bodies between file descriptors and the connection, off the main thread.
 *
 * The fast path needs fds on both ends (a `zfs send` pipe, stdout, an ssh pipe); it runs
 * `pump.ts` in a Worker, with splice(2) where the kernel allows it and the copy loop otherwise
 * (`ZFERRY_COPY=1` forces the copy loop). Everything else (in-memory connections, bodies that are
 * async iterables) takes the portable loop in rpc/connection.ts; all of them produce the same frames.
 */
import { ConnectionError, ProtocolError } from "./errors.ts";
import { DATA_FRAME_BYTES, HEARTBEAT_INTERVAL_MS } from "./limits.ts";
import { newPumpControl, CONTROL_ABORT, CONTROL_DISCARD, type PumpControl, type PumpMode, type ReceivePumpResult, type SendPumpResult } from "./pump.ts";
import { paceFrameBytes } from "./pacer.ts";
import { pipeCapacityLimit } from "../sys/pipe.ts";
import { workerUrl } from "../sys/worker-url.ts";
import type { RelayEvent, RelayJob } from "./relay-worker.ts";

/** The data path mode from the environment: splice unless ZFERRY_COPY=1. */
export function pumpMode(): PumpMode {
  return process.env.ZFERRY_COPY === "1" ? "copy" : "splice";
}

/** A running pump: its progress, a way to stop it, and its result. */
export interface PumpHandle<T> {
  readonly result: Promise<T>;
  /** Payload bytes moved so far (readable at any time, for progress). */
  bytes(): number;
}

export interface SendHandle extends PumpHandle<SendPumpResult> {
  /** Asks the sender to stop at the next frame boundary (kill the source too, so a blocked read ends). */
  abort(): void;
}

export interface ReceiveHandle extends PumpHandle<ReceivePumpResult> {
  /** From now on payloads are dropped (the caller has cancelled the stream with a RESET). */
  discard(): void;
}

/**
 * Streams `srcFd` to EOF into `outFd` as DATA frames; with `rateBytes`, paced to that many bytes
 * per second in small frames (pacer.ts).
 */
export function startSendPump(srcFd: number, outFd: number, options: { frameBytes?: number; heartbeatMs?: number; rateBytes?: number } = {}): SendHandle {
  const control = newPumpControl();
  const frameBytes = options.frameBytes ?? sendFrameBytes();
  const job: RelayJob = {
    op: "send",
    srcFd,
    outFd,
    mode: pumpMode(),
    frameBytes: options.rateBytes ? paceFrameBytes(options.rateBytes, frameBytes) : frameBytes,
    heartbeatMs: options.heartbeatMs ?? HEARTBEAT_INTERVAL_MS,
    control,
    ...(options.rateBytes ? { rateBytes: options.rateBytes } : {}),
  };
  return {
    result: runJob<SendPumpResult>(job, () => {}),
    bytes: () => control.progress[0]!,
    abort: () => Atomics.store(control.flags, CONTROL_ABORT, 1),
  };
}

/** Streams DATA frames from `inFd` (after `leftover`) into `dstFd` until the trailer. */
export function startReceivePump(
  inFd: number,
  leftover: Uint8Array,
  dstFd: number,
  options: { idleTimeoutMs: number; onSinkError: (message: string) => void },
): ReceiveHandle {
  const control: PumpControl = newPumpControl();
  const job: RelayJob = { op: "receive", inFd, leftover, dstFd, mode: pumpMode(), idleTimeoutMs: options.idleTimeoutMs, control };
  return {
    result: runJob<ReceivePumpResult>(job, options.onSinkError),
    bytes: () => control.progress[0]!,
    discard: () => Atomics.store(control.flags, CONTROL_DISCARD, 1),
  };
}

/**
 * The DATA frame size this host sends: DATA_FRAME_BYTES, or the pipe capacity where that is
 * smaller (the splice path gathers a whole frame in a pipe before writing its header). Both modes
 * use it, so they frame a stream identically.
 */
export function sendFrameBytes(): number {
  return Math.min(DATA_FRAME_BYTES, pipeCapacityLimit());
}

// --- internal ---

const idle: Worker[] = [];

function runJob<T>(job: RelayJob, onSinkError: (message: string) => void): Promise<T> {
  const worker = idle.pop() ?? new Worker(workerUrl(import.meta.url, "./relay-worker.ts", "wire/relay-worker.ts"));
  worker.ref();
  return new Promise<T>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<RelayEvent>) => {
      const msg = event.data;
      if (msg.kind === "sink-error") return onSinkError(msg.message);
      worker.onmessage = null;
      worker.onerror = null;
      worker.unref();
      idle.push(worker);
      if (msg.kind === "done") resolve(msg.result as T);
      else reject(msg.errorName === "ProtocolError" ? new ProtocolError(msg.message) : msg.errorName === "ConnectionError" ? new ConnectionError(msg.message) : new Error(msg.message));
    };
    worker.onerror = (event) => {
      worker.onmessage = null;
      worker.terminate();
      reject(new Error(`The data path worker failed: ${event.message}`));
    };
    worker.postMessage(job);
  });
}
