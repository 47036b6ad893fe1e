/**
 * A send without `-w` of an encrypted dataset decrypts it for the client. zferry sends encrypted
 * datasets raw only, unless the identity is granted `send_decrypted`: a pull key then sees
 * ciphertext whatever it asks for, including through a resume token it crafted without `rawok`
 * (openzfs/zfs#14153: `zfs send -t` takes its flags from the token).
 */
import { RpcError } from "../rpc/index.ts";
import { getProperties, quote, type DatasetName, type TreeRecord } from "../zfs/index.ts";
import { withZfsErrors, type ServerContext } from "./context.ts";
import { readableRecords } from "./readable-records.ts";
import { jobCache } from "./session-cache.ts";

/**
 * The `encryption` of every filesystem the identity may read, listed once per session (once per
 * job for local connect's workers) on the first send that needs it: datasets alone, no snapshots.
 * It is fixed when a dataset is created, so the listing holds as long as a session does, and one
 * session may serve a whole job.
 */
const encryptionCache = jobCache(async (ctx: ServerContext) => {
  const encryption = new Map<string, string>();
  for await (const batch of readableRecords(ctx, { versions: false, encryption: true })) noteEncryption(encryption, batch);
  return encryption;
});

/**
 * What the identity may read (readableRecords), each dataset's `encryption` listed with it; once
 * every record has been read, that is the session's listing of encryption too. A session that
 * listed its tree for the client (list_tree) then spends no second listing on its first send.
 */
export async function* readableRecordsNotingEncryption(ctx: ServerContext, options: { versions: boolean }): AsyncGenerator<readonly TreeRecord[], void, undefined> {
  const encryption = new Map<string, string>();
  for await (const batch of readableRecords(ctx, { ...options, encryption: true })) {
    noteEncryption(encryption, batch);
    yield batch;
  }
  encryptionCache.offer(ctx, encryption);
}

function noteEncryption(into: Map<string, string>, batch: readonly TreeRecord[]): void {
  for (const record of batch) if (record.kind === "dataset" && record.dataset.encryption !== null) into.set(record.dataset.name, record.dataset.encryption);
}

/**
 * @throws RpcError permission_denied when `dataset` is encrypted, the send is not raw, and the
 * identity may not get plaintext
 */
export async function requireRawIfEncrypted(ctx: ServerContext, dataset: DatasetName, raw: boolean): Promise<void> {
  // Without `send -w` the zfs has no native encryption, so nothing is encrypted.
  if (raw || ctx.acl.sendDecrypted || !ctx.caps.raw) return;
  const listed = (await withZfsErrors(() => encryptionCache.get(ctx))).get(dataset);
  // Not in the session's listing (made since, or missing): asked for alone.
  const encryption = listed ?? (await withZfsErrors(() => getProperties(ctx.runner, dataset, { properties: ["encryption"] }))).get("encryption")!.value;
  requireRawUnlessOff(ctx, dataset, raw, encryption);
}

/**
 * The same check with the dataset's `encryption` already known (null: zfs has none).
 * @throws RpcError permission_denied as `requireRawIfEncrypted`
 */
export function requireRawUnlessOff(ctx: ServerContext, dataset: DatasetName, raw: boolean, encryption: string | null): void {
  if (raw || ctx.acl.sendDecrypted || encryption === null || encryption === "off" || encryption === "-") return;
  throw new RpcError(
    "permission_denied",
    `${quote(dataset)} is encrypted (${encryption}); client ${quote(ctx.identity)} may get it only as a raw send, ` +
      `not decrypted (grant send_decrypted to allow that)`,
  );
}
