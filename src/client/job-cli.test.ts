import { expect, test } from "bun:test";
import { parseConfig } from "../config/index.ts";
import { findJob } from "./job-cli.ts";

const config = parseConfig(
  {
    jobs: {
      prod: { type: "pull", root: "pool/b", connect: { type: "ssh", host: "prod.example" } },
      up: { type: "push", filesystems: { "tank<": true }, connect: { type: "ssh", host: "b.example" } },
    },
  },
  "/etc/zferry/zferry.toml",
);

test.each([
  ["prod", "pull", "pull"],
  ["up", "pull", 'Job "up" is a push job; run "zferry push up"'],
  ["nope", "pull", 'Unknown job "nope" in /etc/zferry/zferry.toml (jobs: prod, up)'],
  ["prod", "any", "pull"],
  ["up", "any", "push"],
  ["nope", "any", 'Unknown job "nope" in /etc/zferry/zferry.toml (jobs: prod, up)'],
  ["__proto__", "push", 'Unknown job "__proto__" in /etc/zferry/zferry.toml (jobs: prod, up)'],
] as const)("findJob(%p, %p) finds a job of that type, or says why not", (name, kind, expected) => {
  const found = findJob(config, name, kind);
  // "pull"/"push": the job found has that type; anything else is the problem line.
  if (expected === "pull" || expected === "push") expect(found).toMatchObject({ name, type: expected });
  else expect(found).toEqual({ problem: expected });
});
