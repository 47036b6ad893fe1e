/**
 * `zfs hold`, `zfs release` and `zfs holds`, with OpenZFS 2.2's messages (`zfs_hold_nvl` and
 * `zfs_release` in libzfs_dataset.c, `print_holds` in zfs_main.c). Each snapshot argument is
 * handled on its own: one failing prints its line, the others still happen, the exit code is 1.
 */
import { err, out } from "./_exit.ts";
import { getopt } from "./_getopt.ts";
import { now, updateState, loadState, type FakeState, type FakeVersion } from "./state.ts";
import { usageError } from "./usage.ts";

export function cmdHold(args: string[]): number {
  return holdOrRelease("hold", args);
}

export function cmdRelease(args: string[]): number {
  return holdOrRelease("release", args);
}

/** `zfs holds [-rHp] snapshot…`: NAME, TAG, TIMESTAMP per hold. */
export function cmdHolds(args: string[]): number {
  const r = getopt(args, "rHp");
  if (!r.ok) usageError("holds", r.message);
  const scripted = r.opts.some((o) => o.opt === "H");
  const parsable = r.opts.some((o) => o.opt === "p");
  if (r.rest.length === 0) usageError("holds", "missing snapshot argument");
  const state = loadState();
  const rows: [string, string, string][] = [];
  let errors = 0;
  for (const path of r.rest) {
    const at = path.indexOf("@");
    if (at < 0) {
      err(`'${path}' is not a snapshot\n`);
      errors++;
      continue;
    }
    const version = state.datasets[path.slice(0, at)]?.snapshots[path.slice(at + 1)];
    if (!version) {
      err(`cannot open '${path}': dataset does not exist\n`);
      errors++;
      continue;
    }
    for (const [tag, time] of Object.entries(version.holds ?? {})) rows.push([path, tag, parsable ? String(time) : ctime(time)]);
  }
  if (scripted) for (const row of rows) out(`${row.join("\t")}\n`);
  else if (rows.length > 0) {
    const widths = [0, 1, 2].map((i) => Math.max(["NAME", "TAG", "TIMESTAMP"][i]!.length, ...rows.map((row) => row[i]!.length)));
    const line = (cols: readonly string[]) => `${cols.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c)).join("  ")}\n`;
    out(line(["NAME", "TAG", "TIMESTAMP"]));
    for (const row of rows) out(line(row));
  }
  return errors > 0 ? 1 : 0;
}

// --- internal ---

function holdOrRelease(command: "hold" | "release", args: string[]): number {
  const r = getopt(args, "rt");
  if (!r.ok) usageError(command, r.message);
  const recursive = r.opts.some((o) => o.opt === "r");
  const [tag, ...paths] = r.rest;
  if (tag === undefined) usageError(command, "missing tag argument");
  if (paths.length === 0) usageError(command, "missing snapshot argument");
  let errors = 0;
  updateState((state) => {
    for (const path of paths) {
      const at = path.indexOf("@");
      if (at < 0) {
        err(`'${path}' is not a snapshot\n`);
        errors++;
        continue;
      }
      const ds = path.slice(0, at);
      const snap = path.slice(at + 1);
      if (!state.datasets[ds]) {
        err(`cannot open '${ds}': dataset does not exist\n`);
        errors++;
        continue;
      }
      for (const [name, version] of targets(state, ds, snap, recursive)) {
        if (!version) {
          err(command === "hold" ? `cannot hold snapshot '${name}': dataset does not exist\n` : `cannot release hold from snapshot '${name}': dataset does not exist\n`);
          errors++;
        } else if (command === "hold") {
          if (version.holds?.[tag] !== undefined) {
            err(`cannot hold snapshot '${name}': tag already exists on this dataset\n`);
            errors++;
          } else version.holds = { ...version.holds, [tag]: now() };
        } else if (version.holds?.[tag] === undefined) {
          err(`cannot release hold from snapshot '${name}': no such tag on this dataset\n`);
          errors++;
        } else {
          delete version.holds[tag];
        }
      }
    }
  });
  return errors > 0 ? 1 : 0;
}

/** `ds@snap`, and with -r the same snapshot of every descendant that has it. */
function targets(state: FakeState, ds: string, snap: string, recursive: boolean): [string, FakeVersion | undefined][] {
  const found: [string, FakeVersion | undefined][] = [[`${ds}@${snap}`, state.datasets[ds]!.snapshots[snap]]];
  if (recursive) {
    for (const [child, d] of Object.entries(state.datasets)) if (child.startsWith(`${ds}/`) && d.snapshots[snap]) found.push([`${child}@${snap}`, d.snapshots[snap]]);
  }
  return found;
}

/** ctime-like "%a %b %e %H:%M %Y", as print_holds writes the time without -p. */
function ctime(seconds: number): string {
  const d = new Date(seconds * 1000);
  const day = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][d.getDay()];
  const month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.getMonth()];
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${day} ${month} ${String(d.getDate()).padStart(2, " ")} ${pad(d.getHours())}:${pad(d.getMinutes())} ${d.getFullYear()}`;
}
