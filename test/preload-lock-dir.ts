/**
 * Preloaded by `bun test` (bunfig.toml): every test process, and every zferry it spawns with the
 * inherited environment, keeps its run locks in a private directory instead of /run/zferry, so
 * test runs on one machine never refuse each other's jobs. Lock tests set their own directory.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

process.env.ZFERRY_LOCK_DIR ||= mkdtempSync(join(tmpdir(), "zferry-test-locks-"));
