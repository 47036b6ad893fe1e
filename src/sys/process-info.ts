/**
 * Who a process is, from /proc: its command line and when it started. Used to name the process
 * that holds a lock, so a refused run can say which run it is waiting for.
 */
import { readFileSync } from "node:fs";
import { _SC_CLK_TCK, libc } from "./libc.ts";

export interface ProcessInfo {
  readonly pid: number;
  /** argv joined by spaces; empty when /proc does not tell (the process exited meanwhile). */
  readonly command: string;
  /** null when /proc does not tell. */
  readonly started: Date | null;
}

/** Longest command line quoted in a message. */
const MAX_COMMAND_CHARS = 160;

/** What /proc says about `pid`; fields it cannot read are empty. */
export function processInfo(pid: number): ProcessInfo {
  return { pid, command: commandOf(pid), started: startOf(pid) };
}

/** `pid 4242 (zferry pull prod), started 2026-12-02 06:31:07 UTC`. */
export function formatProcess(info: ProcessInfo): string {
  let command = info.command;
  if (command.length > MAX_COMMAND_CHARS) command = `${command.slice(0, MAX_COMMAND_CHARS - 1)}…`;
  const started = info.started ? `, started ${info.started.toISOString().slice(0, 19).replace("T", " ")} UTC` : "";
  return `pid ${info.pid}${command ? ` (${command})` : ""}${started}`;
}

// --- internal ---

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
  } catch {
    return "";
  }
}

/** Field 22 of /proc/PID/stat is the start in clock ticks after boot; /proc/stat has the boot time. */
function startOf(pid: number): Date | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count from its closing ")".
    const ticks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    const boot = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))?.[1]);
    const hz = Number(libc()?.sysconf(_SC_CLK_TCK) ?? 100);
    if (!Number.isFinite(ticks) || !Number.isFinite(boot) || hz <= 0) return null;
    return new Date((boot + ticks / hz) * 1000);
  } catch {
    return null;
  }
}
