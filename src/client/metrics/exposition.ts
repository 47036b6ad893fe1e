/**
 * The Prometheus text exposition format (version 0.0.4), as much of it as zferry's textfile
 * needs: `renderExposition` writes samples grouped by family, each family once with its HELP and
 * TYPE lines (a family split over the file is invalid, which is why a job's lines are merged as
 * samples, not appended as text); `parseExposition` reads such a file back. Both pure.
 */
import { METRIC_FAMILIES, type MetricFamily } from "./catalog.ts";

export interface Sample {
  readonly name: string;
  /** Label name → value, in the order they are written. */
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * The file's text: families in `families` order, samples of each sorted by their labels, a
 * trailing newline. Samples of a family not in `families` are left out.
 */
export function renderExposition(samples: readonly Sample[], families: readonly MetricFamily[] = METRIC_FAMILIES): string {
  const lines: string[] = [];
  for (const family of families) {
    const own = samples.filter((s) => s.name === family.name).map((s) => `${s.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
    if (own.length === 0) continue;
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`, ...own.sort());
  }
  return lines.length ? `${lines.join("\n")}\n` : "";
}

/**
 * The samples of a text-format file; comments, blank lines and lines that do not parse are
 * skipped (the file is zferry's own, and a broken one must not stop the next run from writing).
 */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const sample = parseSampleLine(line);
    if (sample) samples.push(sample);
  }
  return samples;
}

/** `{job="prod",filesystem="tank/a"}`, or "" without labels. */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  const entries = Object.entries(labels);
  return entries.length ? `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}` : "";
}

/** Go's ParseFloat spellings for the non-finite values; finite ones as JavaScript prints them. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

// --- internal ---

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,?)/;

function parseSampleLine(line: string): Sample | null {
  const name = NAME.exec(line)?.[0];
  if (!name) return null;
  let rest = line.slice(name.length).trimStart();
  const labels: Record<string, string> = {};
  if (rest.startsWith("{")) {
    rest = rest.slice(1);
    for (;;) {
      if (rest.trimStart().startsWith("}")) {
        rest = rest.trimStart().slice(1);
        break;
      }
      const m = LABEL.exec(rest);
      if (!m) return null;
      labels[m[1]!] = unescapeLabelValue(m[2]!);
      rest = rest.slice(m[0].length);
      if (m[3] !== "," && !rest.trimStart().startsWith("}")) return null;
    }
  }
  // The value, then an optional timestamp that zferry never writes.
  const fields = rest.trim().split(/\s+/);
  if (fields.length < 1 || fields.length > 2 || fields[0] === "") return null;
  const value = parseValue(fields[0]!);
  return value === null ? null : { name, labels, value };
}

function parseValue(text: string): number | null {
  if (text === "NaN") return NaN;
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  const n = Number(text);
  return Number.isNaN(n) ? null : n;
}

function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function unescapeLabelValue(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
}

function escapeHelp(help: string): string {
  return help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}
