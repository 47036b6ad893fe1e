/** A key path as TOML writes it: bare keys plain, other keys quoted, array indices in brackets. */
export type KeyPath = readonly (string | number)[];

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

/** `["clients", "backup1", "filesystems", "tank/x<<"]` → `clients.backup1.filesystems."tank/x<<"` */
export function formatKeyPath(path: KeyPath): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += (out === "" ? "" : ".") + formatKey(part);
  }
  return out;
}

/** One key, quoted unless TOML would accept it bare. */
export function formatKey(key: string): string {
  return BARE_KEY.test(key) ? key : JSON.stringify(key);
}
