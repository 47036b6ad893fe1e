#!/usr/bin/env bun
/**
 * zferry's entry point. Subcommands load lazily, so `stdinserver` never loads the client's code.
 * This is the one place that turns errors into exit codes (commands/errors.ts, README § Exit codes):
 * 0 success, 1 a failure at run time, 2 a usage or configuration error, 75 another run holds a lock
 * this run needs. Help goes to stderr: in `stdinserver`, stdout is the wire.
 */
import { defineCommand, renderUsage, runCommand, type CommandDef } from "citty";
import { writeSync } from "node:fs";
import { ConfigError } from "./config/index.ts";
import { BusyError, EXIT_BUSY, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from "./commands/index.ts";
import { writeStderrLine } from "./log.ts";
import { VERSION } from "./version.ts";

const main = defineCommand({
  meta: { name: "zferry", version: VERSION, description: "ZFS replication over an SSH forced command" },
  subCommands: {
    stdinserver: () => import("./commands/stdinserver.ts").then((m) => m.default),
    pull: () => import("./commands/pull.ts").then((m) => m.default),
    push: () => import("./commands/push.ts").then((m) => m.default),
    run: () => import("./commands/run.ts").then((m) => m.default),
  },
});

export async function runCli(rawArgs: string[]): Promise<number> {
  if (rawArgs.length === 1 && (rawArgs[0] === "--version" || rawArgs[0] === "-v")) {
    writeSync(1, `${VERSION}\n`);
    return EXIT_OK;
  }
  if (rawArgs.length === 0 || rawArgs.includes("--help") || rawArgs.includes("-h")) {
    const [cmd, parent] = await resolveForUsage(rawArgs);
    const usage = await renderUsage(cmd, parent);
    // citty colours its usage unconditionally; plain text where stderr is not a terminal or NO_COLOR is set
    writeStderrLine(process.stderr.isTTY && !process.env.NO_COLOR ? usage : stripAnsi(usage));
    return rawArgs.length === 0 ? EXIT_USAGE : EXIT_OK;
  }
  try {
    await runCommand(main, { rawArgs });
    return EXIT_OK;
  } catch (err) {
    const e = err as Error;
    const citty = isCittyUsageError(err);
    if (e instanceof UsageError || e instanceof ConfigError || citty) {
      writeStderrLine(`zferry: ${stripAnsi(e.message)}`);
      if (citty) writeStderrLine("Run `zferry --help` for usage.");
      return EXIT_USAGE;
    }
    if (e instanceof BusyError) {
      writeStderrLine(`zferry: ${e.message}`);
      return EXIT_BUSY;
    }
    writeStderrLine(`zferry: ${e.message}`);
    if (process.env.ZFERRY_DEBUG) writeStderrLine(e.stack ?? "");
    return EXIT_FAILURE;
  }
}

async function resolveForUsage(rawArgs: string[]): Promise<[CommandDef, CommandDef | undefined]> {
  const name = rawArgs.find((a) => !a.startsWith("-"));
  const subs = main.subCommands as Record<string, () => Promise<CommandDef>>;
  if (name && subs[name]) return [await subs[name](), main];
  return [main, undefined];
}

/** citty's CLIError is not exported; its codes are "EARG" (arguments) and "E_…" (commands). */
function isCittyUsageError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && (code === "EARG" || code.startsWith("E_"));
}

function stripAnsi(s: string): string {
  return s.replace(/\x1b\[[0-9;]*m/g, "");
}

if (import.meta.main) {
  process.exit(await runCli(process.argv.slice(2)));
}
