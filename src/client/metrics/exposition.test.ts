import { describe, expect, test } from "bun:test";
import { parseWithPrometheusParser } from "../../../test/helpers/prometheus.ts";
import { formatLabels, formatValue, parseExposition, renderExposition, type Sample } from "./exposition.ts";

const FAMILIES = [
  { name: "zferry_job_last_run_success", type: "gauge", help: "1 if it worked." },
  { name: "zferry_filesystem_bytes_total", type: "counter", help: 'Bytes; a "quote" and a back\\slash.' },
] as const;

describe("renderExposition", () => {
  test("groups each family once, with HELP and TYPE, samples sorted, in the families' order", () => {
    const samples: Sample[] = [
      { name: "zferry_filesystem_bytes_total", labels: { job: "b", filesystem: "tank/x" }, value: 10 },
      { name: "zferry_job_last_run_success", labels: { job: "b" }, value: 0 },
      { name: "zferry_filesystem_bytes_total", labels: { job: "a", filesystem: "tank/y" }, value: 2.5 },
      { name: "zferry_job_last_run_success", labels: { job: "a" }, value: 1 },
      { name: "not_in_the_catalog", labels: {}, value: 1 },
    ];
    expect(renderExposition(samples, FAMILIES)).toBe(
      [
        "# HELP zferry_job_last_run_success 1 if it worked.",
        "# TYPE zferry_job_last_run_success gauge",
        'zferry_job_last_run_success{job="a"} 1',
        'zferry_job_last_run_success{job="b"} 0',
        '# HELP zferry_filesystem_bytes_total Bytes; a "quote" and a back\\\\slash.',
        "# TYPE zferry_filesystem_bytes_total counter",
        'zferry_filesystem_bytes_total{job="a",filesystem="tank/y"} 2.5',
        'zferry_filesystem_bytes_total{job="b",filesystem="tank/x"} 10',
        "",
      ].join("\n"),
    );
  });

  test("no samples: an empty file", () => {
    expect(renderExposition([], FAMILIES)).toBe("");
  });

  test("a real exposition parser reads back every label value and number", () => {
    const samples: Sample[] = LABEL_VALUES.map((filesystem, i) => ({ name: "zferry_filesystem_bytes_total", labels: { job: "j", filesystem }, value: VALUES[i % VALUES.length]! }));
    const parsed = parseWithPrometheusParser(renderExposition(samples, FAMILIES));
    expect(parsed.map((p) => [p.labels.filesystem, p.value, p.type])).toEqual(
      [...samples].sort((a, b) => formatLabels(a.labels).localeCompare(formatLabels(b.labels))).map((s) => [s.labels.filesystem, s.value, "COUNTER"]),
    );
  });
});

/** Label values a dataset name or a job cannot hold, and some it can: escaping must carry all. */
const LABEL_VALUES = ["tank/a", "tank/with space", 'quo"te', "back\\slash", "new\nline", "a}b,c=d", "tank/bår", ""];
const VALUES = [0, 1, 1764661200.123, 2 ** 53, 0.001, 1e21];

test.each([
  [0, "0"],
  [1764661200.5, "1764661200.5"],
  [NaN, "NaN"],
  [Infinity, "+Inf"],
  [-Infinity, "-Inf"],
  [1e21, "1e+21"],
])("formatValue(%p) is %p", (value, text) => {
  expect(formatValue(value)).toBe(text);
});

describe("parseExposition", () => {
  test("reads back what renderExposition wrote, escapes included", () => {
    const samples: Sample[] = LABEL_VALUES.map((filesystem, i) => ({ name: "zferry_filesystem_bytes_total", labels: { job: "j", filesystem }, value: VALUES[i % VALUES.length]! }));
    const back = parseExposition(renderExposition(samples, FAMILIES));
    expect(back.sort((a, b) => a.labels.filesystem!.localeCompare(b.labels.filesystem!))).toEqual([...samples].sort((a, b) => a.labels.filesystem!.localeCompare(b.labels.filesystem!)));
  });

  test.each([
    ["a comment or blank line", "# HELP x y\n\n", []],
    ["no labels, a timestamp", "x_total 3 1700000000000", [{ name: "x_total", labels: {}, value: 3 }]],
    ["empty braces and spaces", 'x {  } 1\ny{a="1" , b="2",} 2', [{ name: "x", labels: {}, value: 1 }, { name: "y", labels: { a: "1", b: "2" }, value: 2 }]],
    ["special values", "a NaN\nb +Inf\nc -Inf", [{ name: "a", labels: {}, value: NaN }, { name: "b", labels: {}, value: Infinity }, { name: "c", labels: {}, value: -Infinity }]],
    ["garbage lines are skipped", 'x{a="1" 1\ny{a=1} 2\nz one\n{a="b"} 1\nw 1 2 3\nok 4', [{ name: "ok", labels: {}, value: 4 }]],
    ["a cut last line", 'ok 1\nx{a="un', [{ name: "ok", labels: {}, value: 1 }]],
  ] as [string, string, Sample[]][])("%s", (_label, text, expected) => {
    expect(parseExposition(text)).toEqual(expected);
  });
});
