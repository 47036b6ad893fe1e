/**
 * What one client identity may do on the serving side, built from its `[clients.NAME]` table.
 * Endpoints ask an Acl; they never read the config themselves.
 *
 * Receiving: a client pushes its `tank/a` to `<receive_root>/tank/a`. Only datasets strictly below
 * `receive_root` are writable. The root itself is not: it is the container the admin created for
 * this client, and a `zfs recv -F` onto it would replace it (and its properties, and every other
 * child) with whatever the client sends.
 */
import type { ClientConfig, Config, DatasetFilter, SendFlagName } from "../config/index.ts";
import { isSameOrBelow, parseDatasetName, type DatasetName, type ReceivePolicy } from "../zfs/index.ts";

/** `stdinserver IDENTITY` was started for an identity the config does not list. */
export class UnknownIdentityError extends Error {
  override name = "UnknownIdentityError";
  readonly identity: string;
  readonly file: string;

  constructor(identity: string, file: string) {
    super(`Unknown client identity ${JSON.stringify(identity)}: not in [clients] of ${file}`);
    this.identity = identity;
    this.file = file;
  }
}

export class Acl {
  readonly identity: string;
  /** The subtree pushes land in; undefined when this client may not push. */
  readonly receiveRoot: DatasetName | undefined;
  readonly allowedSendFlags: ReadonlySet<SendFlagName>;
  /** May it get encrypted datasets decrypted (a send without `-w`)? */
  readonly sendDecrypted: boolean;
  /** What its pushed streams may set (`receive` in its `[clients.NAME]`). */
  readonly receivePolicy: ReceivePolicy;
  /** Cap on a send's pace in bytes per second (`bandwidth_limit`); undefined: none. */
  readonly bandwidthLimit: number | undefined;
  /** `snapshot = { prefix }`: the only names it may snapshot and prune; undefined grants neither. */
  readonly snapshotPrefix: string | undefined;
  /** `prune = true`: may it destroy snapshots with its prefix in its filesystems? */
  readonly mayPrune: boolean;
  readonly #filesystems: DatasetFilter;

  constructor(client: ClientConfig) {
    this.identity = client.identity;
    this.receiveRoot = client.receiveRoot;
    this.allowedSendFlags = new Set(client.sendFlags);
    this.sendDecrypted = client.sendDecrypted;
    this.receivePolicy = client.receive;
    this.bandwidthLimit = client.bandwidthLimit;
    this.#filesystems = client.filesystems;
    this.snapshotPrefix = client.snapshotPrefix;
    this.mayPrune = client.prune && client.snapshotPrefix !== undefined;
    Object.freeze(this);
  }

  /** May this client list the versions of `ds` and pull from it? */
  mayRead(ds: DatasetName): boolean {
    return this.#filesystems.allows(ds);
  }

  /**
   * The datasets whose subtrees hold all this client may read (null: every pool), so that a
   * listing reads only those; `mayRead` still decides each name.
   */
  readableRoots(): DatasetName[] | null {
    return this.#filesystems.roots() as DatasetName[] | null;
  }

  /** Could `ds` or anything below it be readable? Lets a listing skip whole subtrees. */
  mayReadBelow(ds: DatasetName): boolean {
    return this.#filesystems.mayContainAllowed(ds);
  }

  /** May this client receive into `ds`? Only datasets strictly below `receive_root` (see the file comment). */
  mayReceiveInto(ds: DatasetName): boolean {
    const root = this.receiveRoot;
    return root !== undefined && ds !== root && isSameOrBelow(ds, root);
  }

  /**
   * Where the client's dataset `clientDs` lands when pushed: `<receive_root>/<clientDs>`, or null
   * when this client may not push.
   * @throws NameError when the combined name is longer than ZFS allows
   */
  receiveTargetFor(clientDs: DatasetName): DatasetName | null {
    return this.receiveRoot === undefined ? null : parseDatasetName(`${this.receiveRoot}/${clientDs}`);
  }

  /** The first requested flag this client was not granted, or null when all are allowed. */
  checkSendFlags(requested: Iterable<SendFlagName>): SendFlagName | null {
    for (const flag of requested) if (!this.allowedSendFlags.has(flag)) return flag;
    return null;
  }
}

/**
 * The Acl of `identity` as configured in `config`.
 * @throws UnknownIdentityError when `[clients]` has no such identity
 */
export function aclForIdentity(config: Config, identity: string): Acl {
  const client = Object.hasOwn(config.clients, identity) ? config.clients[identity] : undefined;
  if (!client) throw new UnknownIdentityError(identity, config.file);
  return new Acl(client);
}
