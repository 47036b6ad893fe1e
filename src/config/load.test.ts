import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "./config-error.ts";
import { defaultConfigPath, loadConfig } from "./load.ts";

const savedEnv = process.env.ZFERRY_CONFIG;
afterEach(() => {
  if (savedEnv === undefined) delete process.env.ZFERRY_CONFIG;
  else process.env.ZFERRY_CONFIG = savedEnv;
});

describe("defaultConfigPath", () => {
  test.each([
    [{}, "/etc/zferry/zferry.toml"],
    [{ ZFERRY_CONFIG: "" }, "/etc/zferry/zferry.toml"],
    [{ ZFERRY_CONFIG: "/srv/z.toml" }, "/srv/z.toml"],
  ])("%j → %s", (env, path) => {
    expect(defaultConfigPath(env)).toBe(path);
  });
});

describe("loadConfig", () => {
  test("reads the path it is given", () => {
    using dir = tempDir();
    const file = dir.write("z.toml", '[clients.b1]\nfilesystems = { "tank<" = true }\n');
    const config = loadConfig(file);
    expect([config.file, config.clients.b1?.filesystems.allows("tank/x")]).toEqual([file, true]);
  });

  test("without a path it reads $ZFERRY_CONFIG", () => {
    using dir = tempDir();
    process.env.ZFERRY_CONFIG = dir.write("env.toml", '[log]\nlevel = "debug"\n');
    expect(loadConfig().log.level).toBe("debug");
  });

  test("a missing file is a ConfigError naming it", () => {
    using dir = tempDir();
    const file = join(dir.path, "nope.toml");
    expect(() => loadConfig(file)).toThrow(new ConfigError(file, "", "cannot read config file: no such file"));
  });

  test("a directory is a ConfigError", () => {
    using dir = tempDir();
    expect(() => loadConfig(dir.path)).toThrow(`${dir.path}: cannot read config file: is a directory`);
  });

  test.skipIf(process.getuid?.() === 0)("an unreadable file is a ConfigError (skipped as root: root reads any file)", () => {
    using dir = tempDir();
    const file = dir.write("secret.toml", "");
    chmodSync(file, 0o000);
    expect(() => loadConfig(file)).toThrow(`${file}: cannot read config file: permission denied`);
  });

  test.each([
    ["a = \n", 1, 5, "invalid value"],
    ["[log]\nlevel = 'info'\nlevel = 'debug'\n", 3, 1, "trying to redefine an already defined table or value"],
    ["[clients.b1]\nfilesystems = { tank< = true }\n", 2, 21, ""],
    ['[log]\nfile = "unterminated\n', 2, 21, ""],
  ])("TOML syntax error in %j names line and column", (text, line, column, reason) => {
    using dir = tempDir();
    const file = dir.write("bad.toml", text);
    const error = catchConfigError(() => loadConfig(file));
    expect([error.line, error.column]).toEqual([line, column]);
    expect(error.message).toStartWith(`${file}:${line}:${column}: invalid TOML: ${reason}`);
    expect(error.message).not.toContain("\n");
  });

  test("schema errors come through with the file and key path", () => {
    using dir = tempDir();
    const file = dir.write("z.toml", '[clients.backup1]\nfilesystems = { "tank/x<<" = true }\n');
    expect(() => loadConfig(file)).toThrow(
      `${file}: clients.backup1.filesystems."tank/x<<": invalid pattern: invalid dataset name "tank/x<": character "<" is not allowed`,
    );
  });
});

function catchConfigError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

function tempDir(): Disposable & { path: string; write(name: string, text: string): string } {
  const path = mkdtempSync(join(tmpdir(), "zferry-config-"));
  mkdirSync(path, { recursive: true });
  return {
    path,
    write(name, text) {
      const file = join(path, name);
      writeFileSync(file, text);
      return file;
    },
    [Symbol.dispose]() {
      rmSync(path, { recursive: true, force: true });
    },
  };
}
