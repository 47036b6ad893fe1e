/**
 * Dataset filters, after zrepl's filter syntax: a map from pattern to allow (true) or deny (false).
 *
 * - `tank/data` matches that dataset only; `tank/data<` matches it and everything below it
 *   (`tank/data<` does not match `tank/data2`); `<` alone matches every dataset.
 * - The most specific matching pattern decides: an exact pattern beats any `<` pattern, and among
 *   `<` patterns the longest (deepest) wins. The order of the map does not matter.
 * - No matching pattern denies.
 */
import { isSameOrBelow, parseDatasetName } from "../zfs/index.ts";
import { formatKey } from "./_key-path.ts";
import { typeName } from "./_read.ts";

/** A filter map entry that cannot be compiled. */
export class FilterError extends TypeError {
  override name = "FilterError";
  /** Key path of the offending entry, e.g. `clients.backup1.filesystems."tank/x<<"`. */
  readonly keyPath: string;
  /** What is wrong with it, without the key path. */
  readonly reason: string;

  constructor(keyPath: string, reason: string, options?: ErrorOptions) {
    super(`${keyPath}: ${reason}`, options);
    this.keyPath = keyPath;
    this.reason = reason;
  }
}

/** A compiled, immutable dataset filter. */
export class DatasetFilter {
  /** Exact patterns: dataset name → allow. */
  readonly #exact: ReadonlyMap<string, boolean>;
  /** Subtree patterns: dataset name (`""` for `<`) → allow. */
  readonly #subtree: ReadonlyMap<string, boolean>;

  /** Use {@link DatasetFilter.fromMap}; the constructor takes already checked names. */
  constructor(exact: ReadonlyMap<string, boolean>, subtree: ReadonlyMap<string, boolean>) {
    this.#exact = new Map(exact);
    this.#subtree = new Map(subtree);
    Object.freeze(this);
  }

  /**
   * Compiles a pattern map such as `{ "tank/data<": true, "tank/data/scratch<": false }`.
   * @param keyPathForErrors key path of the map itself, prefixed to the key path of a bad entry
   * @throws FilterError for a malformed pattern or a value that is not a boolean
   */
  static fromMap(map: Readonly<Record<string, unknown>>, keyPathForErrors = ""): DatasetFilter {
    const exact = new Map<string, boolean>();
    const subtree = new Map<string, boolean>();
    for (const [pattern, allow] of Object.entries(map)) {
      const keyPath = keyPathForErrors === "" ? formatKey(pattern) : `${keyPathForErrors}.${formatKey(pattern)}`;
      if (typeof allow !== "boolean") {
        throw new FilterError(keyPath, `expected a boolean (true allows, false denies), got ${typeName(allow)}`);
      }
      const { name, isSubtree } = _parsePattern(pattern, keyPath);
      (isSubtree ? subtree : exact).set(name, allow);
    }
    return new DatasetFilter(exact, subtree);
  }

  /** A filter that allows every dataset (`{ "<" = true }`). */
  static allowAll(): DatasetFilter {
    return new DatasetFilter(new Map(), new Map([["", true]]));
  }

  /** True when the most specific pattern matching `ds` allows it. `ds` must be a checked dataset name. */
  allows(ds: string): boolean {
    return this.#exact.get(ds) ?? this.#subtreeRule(ds) ?? false;
  }

  /**
   * True when `ds` or some dataset below it could be allowed: decides whether a listing must
   * descend into `ds` or a placeholder for it is needed. A `<` rule that allows covers children no
   * other pattern names, so a denied `ds` still may contain allowed datasets.
   */
  mayContainAllowed(ds: string): boolean {
    if (this.allows(ds) || this.#subtreeRule(ds) === true) return true;
    for (const rules of [this.#exact, this.#subtree]) {
      for (const [name, allow] of rules) {
        if (allow && name !== ds && isSameOrBelow(name, ds)) return true;
      }
    }
    return false;
  }

  /**
   * The fewest datasets whose subtrees hold every dataset this filter could allow, sorted; null
   * when it allows below the root of every pool (`"<" = true`). A listing of these roots instead
   * of every pool reads only what the filter may pass (the filter still decides each name).
   */
  roots(): string[] | null {
    if (this.#subtree.get("") === true) return null;
    const allowed = [...this.#exact, ...this.#subtree].filter(([name, allow]) => allow && name !== "").map(([name]) => name);
    const sorted = [...new Set(allowed)].sort();
    return sorted.filter((name) => !sorted.some((other) => other !== name && isSameOrBelow(name, other)));
  }

  /** The filter as a TOML inline table, sorted by dataset, exact before `<`: `{ "tank/data<" = true, "tank/home" = true }`. */
  toString(): string {
    const entries = [
      ...[...this.#exact].map(([name, allow]) => ({ name, pattern: name, allow })),
      ...[...this.#subtree].map(([name, allow]) => ({ name, pattern: `${name}<`, allow })),
    ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.pattern.length - b.pattern.length));
    if (entries.length === 0) return "{}";
    return `{ ${entries.map(({ pattern, allow }) => `${JSON.stringify(pattern)} = ${allow}`).join(", ")} }`;
  }

  /** The decision of the deepest `<` pattern at or above `ds`, if any. */
  #subtreeRule(ds: string): boolean | undefined {
    for (let name = ds; ; name = _parent(name)) {
      const allow = this.#subtree.get(name);
      if (allow !== undefined || name === "") return allow;
    }
  }
}

// --- internal ---

function _parsePattern(pattern: string, keyPath: string): { name: string; isSubtree: boolean } {
  if (pattern === "<") return { name: "", isSubtree: true };
  const isSubtree = pattern.endsWith("<");
  const name = isSubtree ? pattern.slice(0, -1) : pattern;
  try {
    return { name: parseDatasetName(name), isSubtree };
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message.replace(/^Invalid/, "invalid") : String(cause);
    throw new FilterError(keyPath, `invalid pattern: ${detail}`, { cause });
  }
}

/** `tank/a/b` → `tank/a`, `tank` → `""` (the parent of every pool, where `<` lives). */
function _parent(name: string): string {
  const slash = name.lastIndexOf("/");
  return slash < 0 ? "" : name.slice(0, slash);
}
