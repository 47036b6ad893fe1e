/**
 * The zferry CLI as the host's end-to-end tests run it: a subprocess of this checkout's
 * `bun src/cli.ts`, to its end, plus the TOML snippets their configs are built from.
 */
import { join, resolve } from "node:path";
import type { SshConnectTable } from "./sshd.ts";

export const REPO = resolve(import.meta.dir, "../..");
export const CLI = join(REPO, "src/cli.ts");

export interface CliRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `zferry ARGS` to the end, without colour, with this process's environment. */
export async function zferry(args: readonly string[]): Promise<CliRun> {
  await using proc = Bun.spawn([process.execPath, CLI, ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  const [stdout, stderr, exitCode] = await Promise.all([proc.stdout.text(), proc.stderr.text(), proc.exited]);
  return { exitCode, stdout, stderr };
}

/** An inline TOML table of JSON-representable values: `{ "k" = "v", … }`. */
export function tomlTable(t: Record<string, unknown>): string {
  return `{ ${Object.entries(t).map(([k, v]) => `${JSON.stringify(k)} = ${JSON.stringify(v)}`).join(", ")} }`;
}

/** A job's `connect = …` value for an sshd from `startSshd`. */
export function connectToml(c: SshConnectTable): string {
  return tomlTable(c as unknown as Record<string, unknown>);
}
