/**
 * Reading and setting dataset properties (`zfs get` / `zfs set`), with each value's source, so a
 * caller can tell a property set on the dataset itself ("local") from one it inherits: user
 * properties such as zferry:placeholder are inherited by every child.
 */
import { zfsOutputError } from "./errors.ts";
import type { DatasetName } from "./names.ts";
import type { ZfsRunOptions, ZfsRunner } from "./runner.ts";

/** A property's value and where it comes from: "local", "default", "inherited from pool/a", "temporary", "-". */
export interface PropertyValue {
  readonly value: string;
  readonly source: string;
}

/** Property names zferry passes to zfs: native ones and `module:name` user properties. */
const PROPERTY_NAME = /^[a-z][a-z0-9_.:-]{0,255}$/;

/**
 * Reads `properties` of one dataset in one `zfs get`.
 * @throws TypeError for a malformed property name
 * @throws ZfsError when zfs fails (`isDatasetMissing`) or prints something unexpected
 */
export async function getProperties(
  runner: ZfsRunner,
  dataset: DatasetName,
  options: ZfsRunOptions & { properties: readonly string[] },
): Promise<Map<string, PropertyValue>> {
  const { properties, ...run } = options;
  for (const p of properties) checkPropertyName(p);
  const argv = ["get", "-H", "-o", "property,value,source", properties.join(","), dataset];
  const out = await runner.run(argv, run);
  const found = new Map<string, PropertyValue>();
  for (const line of out.split("\n")) {
    if (line === "") continue;
    const fields = line.split("\t");
    if (fields.length !== 3) throw zfsOutputError(argv, `expected 3 tab-separated fields in ${JSON.stringify(line.slice(0, 200))}`);
    const [property, value, source] = fields as [string, string, string];
    found.set(property, { value, source });
  }
  for (const p of properties) if (!found.has(p)) throw zfsOutputError(argv, `no value for ${JSON.stringify(p)}`);
  return found;
}

/**
 * Sets properties on one dataset, one `zfs set` each (old zfs takes a single assignment).
 * @throws TypeError for a malformed property name or a value with a newline
 * @throws ZfsError when zfs refuses
 */
export async function setProperties(
  runner: ZfsRunner,
  dataset: DatasetName,
  options: ZfsRunOptions & { values: Readonly<Record<string, string>> },
): Promise<void> {
  const { values, ...run } = options;
  for (const [property, value] of Object.entries(values)) {
    checkPropertyName(property);
    if (/[\n\r]/.test(value)) throw new TypeError(`Invalid value for property ${JSON.stringify(property)}: contains a line break`);
    await runner.run(["set", `${property}=${value}`, dataset], { subject: `set ${property}=${value} on ${JSON.stringify(dataset)}`, ...run });
  }
}

/**
 * `zfs inherit property dataset`: drops the local value and overrides a received one, so the
 * dataset takes its parent's.
 * @throws TypeError for a malformed property name
 * @throws ZfsError when zfs refuses
 */
export async function inheritProperty(runner: ZfsRunner, dataset: DatasetName, property: string, options: ZfsRunOptions = {}): Promise<void> {
  checkPropertyName(property);
  await runner.run(["inherit", property, dataset], { subject: `inherit ${property} on ${JSON.stringify(dataset)}`, ...options });
}

// --- internal ---

function checkPropertyName(name: string): void {
  if (!PROPERTY_NAME.test(name)) throw new TypeError(`Invalid property name ${JSON.stringify(name)}`);
}
