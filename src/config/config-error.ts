/** A config file that cannot be used: it is missing, unreadable, not TOML, or breaks the schema. */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** The file the config was read from. */
  readonly file: string;
  /** Where in the file, as a TOML key path (`clients.backup1.filesystems."tank/x<<"`); "" for the whole file. */
  readonly keyPath: string;
  /** What is wrong, without file or key path. */
  readonly reason: string;
  /** 1-based position of a TOML syntax error. */
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(
    file: string,
    keyPath: string,
    reason: string,
    options?: ErrorOptions & { line?: number; column?: number },
  ) {
    const where = options?.line === undefined ? file : `${file}:${options.line}:${options.column ?? 1}`;
    super(keyPath === "" ? `${where}: ${reason}` : `${where}: ${keyPath}: ${reason}`, options);
    this.file = file;
    this.keyPath = keyPath;
    this.reason = reason;
    this.line = options?.line;
    this.column = options?.column;
  }
}
