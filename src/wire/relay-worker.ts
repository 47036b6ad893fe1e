/**
 * Worker entry for the data pumps (see pump.ts): it owns the blocking loop so the main thread stays
 * free for control frames, timers and child exits. One job at a time; the worker is reused.
 */
import { ConnectionError, ProtocolError } from "./errors.ts";
import { receivePump, sendPump, type PumpControl, type PumpMode } from "./pump.ts";

declare const self: Worker;

export type RelayJob =
  | { op: "send"; srcFd: number; outFd: number; mode: PumpMode; frameBytes: number; heartbeatMs: number; control: PumpControl; rateBytes?: number }
  | { op: "receive"; inFd: number; leftover: Uint8Array; dstFd: number; mode: PumpMode; idleTimeoutMs: number; control: PumpControl };

export type RelayEvent =
  | { kind: "sink-error"; message: string }
  | { kind: "done"; result: unknown }
  | { kind: "failed"; errorName: string; message: string };

self.onmessage = (event: MessageEvent<RelayJob>) => {
  const job = event.data;
  try {
    const result =
      job.op === "send"
        ? sendPump(job)
        : receivePump({ ...job, onSinkError: (message) => self.postMessage({ kind: "sink-error", message } satisfies RelayEvent) });
    self.postMessage({ kind: "done", result } satisfies RelayEvent);
  } catch (err) {
    const e = err as Error;
    const errorName = e instanceof ProtocolError ? "ProtocolError" : e instanceof ConnectionError ? "ConnectionError" : "Error";
    self.postMessage({ kind: "failed", errorName, message: e.message } satisfies RelayEvent);
  }
};
