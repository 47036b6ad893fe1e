/**
 * Follows one process by its pid, reading only its own /proc entries: its peak RSS (VmHWM, the
 * kernel's high-water mark of its own address space) and its CPU time (user + system, its
 * threads included, not its children's), as last read before it exited. Bun's
 * `resourceUsage().maxRSS` cannot serve: after fork+exec it also counts the parent's RSS at fork
 * time, so it grows with the test runner; and reading every process's command line to find one
 * takes CPU from what is measured.
 */
import { readFileSync } from "node:fs";

export interface ProcessWatch {
  /** Stops reading; what was last read. */
  stop(): { peakBytes: number; cpuSeconds: number };
}

export function watchProcess(pid: number, intervalMs = 20): ProcessWatch {
  let peakBytes = 0;
  let cpuSeconds = 0;
  const read = (): void => {
    try {
      const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) peakBytes = Math.max(peakBytes, Number(m[1]) * 1024);
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    } catch {
      // gone (or a zombie without a status): the last reading stands
    }
  };
  read();
  const timer = setInterval(read, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return { peakBytes, cpuSeconds };
    },
  };
}

/** USER_HZ, the unit of /proc/PID/stat's times: 100 on Linux for every architecture it runs on. */
const CLOCK_TICKS = 100;
