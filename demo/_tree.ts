/**
 * The demo's data: a small dataset tree with text and binary files, a later round of changes,
 * and a content comparison by SHA-256 of every file.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** Filesystems below the tree's top, relative to it ("" is the top itself). */
export const TREE = ["", "projects", "projects/web", "photos"] as const;

/** Writes the first generation of files; returns the bytes written. */
export function fillTree(root: string): number {
  const { put, written } = treeWriter(root);
  put("README.txt", "A dataset tree replicated by zferry.\n");
  for (let i = 0; i < 200; i++) put(`projects/notes/note-${String(i).padStart(3, "0")}.md`, `# Note ${i}\n\n${"lorem ipsum dolor sit amet ".repeat(20 + (i % 50))}\n`);
  for (let i = 0; i < 40; i++) put(`projects/web/src/module-${i}.ts`, `export const value${i} = ${i};\n`.repeat(200));
  put("projects/web/assets/bundle.bin", randomBytes(24 << 20));
  for (let i = 0; i < 8; i++) put(`photos/2026/IMG_${1000 + i}.raw`, randomBytes(6 << 20));
  return written();
}

/** The second generation: edits, new files, one file replaced. Returns the bytes written. */
export function changeTree(root: string): number {
  const { put, written } = treeWriter(root);
  put("README.txt", "A dataset tree replicated by zferry, then changed.\n");
  for (let i = 0; i < 10; i++) put(`projects/notes/note-${String(i).padStart(3, "0")}.md`, `# Note ${i}, revised\n`);
  put("projects/web/src/module-new.ts", "export const fresh = true;\n");
  put("photos/2026/IMG_2000.raw", randomBytes(4 << 20));
  return written();
}

/** relative path → sha256 of every regular file below `dir` (directories of other mounts included). */
export function hashTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${entry}` : entry;
      const st = statSync(join(dir, r));
      if (st.isDirectory()) walk(r);
      else if (st.isFile()) out.set(r, createHash("sha256").update(readFileSync(join(dir, r))).digest("hex"));
    }
  };
  walk("");
  return out;
}

/** The differences between two hash maps, as lines; empty when equal. */
export function compareTrees(expected: Map<string, string>, actual: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const [path, hash] of expected) {
    const got = actual.get(path);
    if (got === undefined) problems.push(`missing on the target: ${path}`);
    else if (got !== hash) problems.push(`content differs: ${path}`);
  }
  for (const path of actual.keys()) if (!expected.has(path)) problems.push(`only on the target: ${path}`);
  return problems;
}

/** Writes files below `root`, creating folders, and counts the bytes. */
function treeWriter(root: string): { put: (rel: string, content: string | Uint8Array) => void; written: () => number } {
  let bytes = 0;
  return {
    put(rel, content) {
      const path = join(root, rel);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
      bytes += content.length;
    },
    written: () => bytes,
  };
}
