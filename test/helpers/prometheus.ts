/**
 * Reads an exposition-format text with a real parser (parse-prometheus-text-format, a port of the
 * Prometheus Python client's), not with zferry's own, so a test catches what Prometheus would
 * reject or read differently. Throws on a family whose samples are split, as Prometheus does.
 */
import parsePrometheusTextFormat from "parse-prometheus-text-format";

export interface ParsedSample {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export function parseWithPrometheusParser(text: string): ParsedSample[] {
  const families = parsePrometheusTextFormat(text);
  const names = families.map((f) => f.name);
  const repeated = names.find((n, i) => names.indexOf(n) !== i);
  if (repeated) throw new Error(`metric family ${repeated} appears more than once`);
  return families.flatMap((f) => f.metrics.map((m) => ({ name: f.name, type: f.type, help: f.help, labels: m.labels ?? {}, value: Number(m.value) })));
}

/** The value of `name` with exactly `labels`, or undefined. */
export function valueOf(samples: readonly ParsedSample[], name: string, labels: Readonly<Record<string, string>>): number | undefined {
  const key = JSON.stringify(Object.entries(labels).sort());
  return samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === key)?.value;
}
