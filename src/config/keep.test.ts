import { describe, expect, test } from "bun:test";
import { parse } from "smol-toml";
import { ConfigError } from "./config-error.ts";
import { parseConfig } from "./schema.ts";
import type { Config } from "./types.ts";

const FILE = "/etc/zferry/zferry.toml";
const CLIENT = `[clients.b1]\nfilesystems = { "tank<" = true }\n`;
const JOB = `[jobs.j]\ntype = "pull"\nconnect = { type = "ssh", host = "h" }\nroot = "sink"\n`;

function load(toml: string): Config {
  return parseConfig(parse(toml), FILE);
}

function loadError(toml: string): string {
  try {
    load(toml);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("[jobs.NAME] snapshot, keep_sender, keep_receiver", () => {
  test("a job with the issue's example rules parses into typed rules", () => {
    const job = load(`${JOB}snapshot = { prefix = "zferry_" }
keep_sender   = [ { type = "not_replicated" }, { type = "last_n", count = 10 } ]
keep_receiver = [ { type = "grid", grid = "1x1h(keep=all) | 24x1h | 14x1d | 12x30d", regex = "^zferry_" },
                  { type = "last_n", count = 3 }, { type = "regex", regex = "^keep-", negate = true } ]
`).jobs.j!;
    expect(job.snapshotPrefix).toBe("zferry_");
    expect(job.keepSender).toEqual([{ type: "not_replicated" }, { type: "last_n", count: 10, regex: undefined }]);
    const [grid, lastN, regex] = job.keepReceiver!;
    expect(grid?.type === "grid" && [grid.spec, grid.grid.length, grid.regex.source]).toEqual(["1x1h(keep=all) | 24x1h | 14x1d | 12x30d", 51, "^zferry_"]);
    expect(lastN).toEqual({ type: "last_n", count: 3, regex: undefined });
    expect(regex).toEqual({ type: "regex", regex: /^keep-/, negate: true });
  });

  test("without the keys a job takes no snapshots and prunes nothing", () => {
    const job = load(JOB).jobs.j!;
    expect([job.snapshotPrefix, job.keepSender, job.keepReceiver]).toEqual([undefined, undefined, undefined]);
  });

  test.each([
    ['snapshot = { prefix = "bad name" }', 'jobs.j.snapshot.prefix: "bad name" is not a usable snapshot name prefix: use 1 to 64 of A-Z a-z 0-9 _ . : -, e.g. "zferry_"'],
    ["snapshot = { }", "jobs.j.snapshot.prefix: missing required key"],
    ['snapshot = { prefix = "z_", every = "1h" }', "jobs.j.snapshot.every: unknown key; expected one of: prefix"],
    ['keep_sender = [ { type = "last_n", count = 1 } ]', 'jobs.j.keep_sender: pruning needs snapshot = { prefix = "…" } in this job'],
    ['snapshot = { prefix = "z_" }\nkeep_sender = []', "jobs.j.keep_sender: an empty list keeps nothing and would destroy every snapshot"],
    ['snapshot = { prefix = "z_" }\nkeep_sender = [ { type = "last" } ]', 'jobs.j.keep_sender[0].type: "last" is not one of: "last_n", "grid", "regex", "not_replicated"'],
    ['snapshot = { prefix = "z_" }\nkeep_sender = [ { count = 1 } ]', "jobs.j.keep_sender[0].type: missing required key"],
    ['snapshot = { prefix = "z_" }\nkeep_sender = [ { type = "last_n" } ]', "jobs.j.keep_sender[0].count: missing required key"],
    ['snapshot = { prefix = "z_" }\nkeep_sender = [ { type = "last_n", count = 0 } ]', "jobs.j.keep_sender[0].count: 0 is out of range 1..1000000"],
    ['snapshot = { prefix = "z_" }\nkeep_sender = [ { type = "last_n", count = 1, grid = "1x1h" } ]', "jobs.j.keep_sender[0].grid: unknown key; expected one of: type, count, regex"],
    ['snapshot = { prefix = "z_" }\nkeep_receiver = [ { type = "grid", grid = "24x1y" } ]', 'jobs.j.keep_receiver[0].grid: grid term "24x1y" is not of the form COUNTxDURATION'],
    ['snapshot = { prefix = "z_" }\nkeep_receiver = [ { type = "grid", grid = "1x1d | 1x1h" } ]', "jobs.j.keep_receiver[0].grid: grid \"1x1d | 1x1h\": interval lengths must not shrink"],
    ['snapshot = { prefix = "z_" }\nkeep_receiver = [ { type = "regex", regex = "(" } ]', 'jobs.j.keep_receiver[0].regex: "(" is not a valid regular expression'],
    ['snapshot = { prefix = "z_" }\nkeep_receiver = [ { type = "not_replicated" } ]', 'jobs.j.keep_receiver[0].type: "not_replicated" only means something on the sending side: move it to keep_sender'],
  ])("%s is refused: %s", (extra, message) => {
    expect(loadError(`${JOB}${extra}\n`)).toStartWith(`${FILE}: ${message}`);
  });
});

describe("[clients.NAME] snapshot and prune grants", () => {
  test("no grants by default", () => {
    expect(load(CLIENT).clients.b1).toMatchObject({ snapshotPrefix: undefined, prune: false });
  });

  test("snapshot = { prefix } and prune = true are read", () => {
    expect(load(`${CLIENT}snapshot = { prefix = "zferry_b1_" }\nprune = true\n`).clients.b1).toMatchObject({ snapshotPrefix: "zferry_b1_", prune: true });
  });

  test.each([
    ["prune = true", 'clients.b1.prune: prune = true needs snapshot = { prefix = "…" } beside it: only snapshots with that prefix may be destroyed'],
    ['prune = "yes"', "clients.b1.prune: expected a boolean, got a string"],
    ['snapshot = { prefix = "a/b" }', 'clients.b1.snapshot.prefix: "a/b" is not a usable snapshot name prefix'],
    ['snapshot = "zferry_"', "clients.b1.snapshot: expected a table, got a string"],
  ])("%s is refused: %s", (extra, message) => {
    expect(loadError(`${CLIENT}${extra}\n`)).toStartWith(`${FILE}: ${message}`);
  });
});
