/**
 * The tree is the architecture: imports under src/ point down the layer order only, and cross a
 * folder boundary only through that folder's index.ts (sys/ and log.ts are imported directly).
 *
 * Layers, lowest first; server and client share a rank and neither imports the other. One
 * exception to "through index.ts": cli.ts loads each command file lazily with `import()` (style
 * guide §8), so that `stdinserver` never loads the client's code.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../src");

/** Module (a folder, or a top-level file) → rank. */
const RANK: Record<string, number> = {
  sys: 0,
  "log.ts": 1,
  "version.ts": 1,
  transport: 2,
  wire: 3,
  rpc: 4,
  zfs: 5,
  retention: 5,
  config: 6,
  api: 7,
  server: 8,
  client: 8,
  commands: 9,
  "cli.ts": 10,
};
/** Modules imported directly, not through an index.ts. */
const DIRECT = new Set(["sys", "log.ts", "version.ts"]);

/** Every .ts file under src/, as a path relative to src/. */
function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith(".ts") ? [relative(SRC, path)] : [];
  });
}

interface Import {
  spec: string;
  /** `import("…")`: loaded lazily. */
  lazy: boolean;
}

/** Relative specifiers of every static import/export-from, dynamic import() and new URL(…, import.meta.url). */
function importsOf(code: string): Import[] {
  const text = code.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  const found: Import[] = [];
  const patterns: [RegExp, boolean][] = [
    [/\b(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?["']([^"']+)["']/g, false],
    [/\bimport\s*\(\s*["']([^"']+)["']\s*\)/g, true],
    [/\bnew\s+URL\s*\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g, false],
  ];
  for (const [re, lazy] of patterns) for (const m of text.matchAll(re)) found.push({ spec: m[1]!, lazy });
  return found.filter((i) => i.spec.startsWith("."));
}

/** "wire" for "wire/frame.ts", "log.ts" for "log.ts". */
function moduleOf(path: string): string {
  return path.includes("/") ? path.slice(0, path.indexOf("/")) : path;
}

/**
 * Why importing `target` from `file` (both relative to src/) breaks the layering, or null.
 * Test files may import outside src/ (test helpers); source files may not.
 */
function edgeViolation(file: string, target: string, lazy: boolean): string | null {
  const outside = target.startsWith("..");
  const edge = `src/${file} imports ${outside ? relative(resolve(SRC, ".."), resolve(SRC, target)) : `src/${target}`}`;
  if (outside) return file.endsWith(".test.ts") ? null : `${edge} (outside src/)`;
  const from = moduleOf(file);
  const to = moduleOf(target);
  if (from === to) return null;
  if (!(from in RANK) || !(to in RANK)) return `${edge} (${[from, to].filter((m) => !(m in RANK)).join(" and ")} not in the layer list)`;
  if (RANK[to]! > RANK[from]!) return `${edge} (${from} → ${to} goes up)`;
  if (RANK[to] === RANK[from]) return `${edge} (${from} → ${to}: same rank, neither imports the other)`;
  if (DIRECT.has(to) || target === `${to}/index.ts`) return null;
  if (lazy && from === "cli.ts" && to === "commands") return null; // lazy subcommands: one file each, loaded on demand
  return `${edge} (${to} only through src/${to}/index.ts)`;
}

function violations(): string[] {
  const found: string[] = [];
  for (const file of sourceFiles()) {
    for (const { spec, lazy } of importsOf(readFileSync(join(SRC, file), "utf8"))) {
      const problem = edgeViolation(file, relative(SRC, resolve(SRC, dirname(file), spec)), lazy);
      if (problem) found.push(problem);
    }
  }
  return found;
}

test.each([
  ["rpc/serve.ts", "rpc/messages.ts", false, null],
  ["rpc/codec.ts", "wire/index.ts", false, null],
  ["wire/pump.ts", "sys/libc.ts", false, null],
  ["zfs/run.ts", "log.ts", false, null],
  ["rpc/x.test.ts", "../test/helpers/local-job.ts", false, null],
  ["cli.ts", "commands/pull.ts", true, null],
  ["wire/frame.ts", "rpc/index.ts", false, "src/wire/frame.ts imports src/rpc/index.ts (wire → rpc goes up)"],
  ["log.ts", "transport/index.ts", false, "src/log.ts imports src/transport/index.ts (log.ts → transport goes up)"],
  ["sys/pipe.ts", "log.ts", false, "src/sys/pipe.ts imports src/log.ts (sys → log.ts goes up)"],
  ["server/a.ts", "client/index.ts", false, "src/server/a.ts imports src/client/index.ts (server → client: same rank, neither imports the other)"],
  ["rpc/connection.ts", "wire/frame.ts", false, "src/rpc/connection.ts imports src/wire/frame.ts (wire only through src/wire/index.ts)"],
  ["cli.ts", "commands/pull.ts", false, "src/cli.ts imports src/commands/pull.ts (commands only through src/commands/index.ts)"],
  ["rpc/x.ts", "../test/helpers/local-job.ts", false, "src/rpc/x.ts imports test/helpers/local-job.ts (outside src/)"],
  ["extra/a.ts", "wire/index.ts", false, "src/extra/a.ts imports src/wire/index.ts (extra not in the layer list)"],
] as [string, string, boolean, string | null][])("edgeViolation: src/%s importing src/%s (lazy: %p)", (file, target, lazy, expected) => {
  expect(edgeViolation(file, target, lazy)).toBe(expected);
});

test("importsOf finds static, type-only, re-export, dynamic and worker-URL imports, not comments", () => {
  const code = [
    'import { a } from "./a.ts";',
    'import type { B } from "../b/index.ts";',
    "import {\n  c,\n  type D,\n} from '../c/index.ts';",
    'export { e } from "./e.ts";',
    'export * as f from "./f.ts";',
    'import "./side-effect.ts";',
    'const g = await import("../g/index.ts");',
    'new Worker(new URL("./worker.ts", import.meta.url).href);',
    '// import { x } from "../commented/index.ts";',
    '/* import { y } from "../block/index.ts"; */',
    'import { z } from "node:fs";',
  ].join("\n");
  expect(importsOf(code)).toEqual([
    { spec: "./a.ts", lazy: false },
    { spec: "../b/index.ts", lazy: false },
    { spec: "../c/index.ts", lazy: false },
    { spec: "./e.ts", lazy: false },
    { spec: "./f.ts", lazy: false },
    { spec: "./side-effect.ts", lazy: false },
    { spec: "../g/index.ts", lazy: true },
    { spec: "./worker.ts", lazy: false },
  ]);
});

test("every import under src/ points down the layer order, across folders only through index.ts", () => {
  expect(violations()).toEqual([]);
});
