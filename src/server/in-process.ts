/**
 * A stdinserver session inside the client's own process, for `connect = { type = "local" }`: the
 * same ACL, endpoints and wire as `zferry stdinserver IDENTITY`, over two kernel pipes
 * (transport/pipe-pair.ts) instead of a child's stdin/stdout.
 */
import type { Config } from "../config/index.ts";
import { debugOnlyLogger } from "../log.ts";
import { pipeDuplexPair, type ServerDuplex } from "../transport/index.ts";
import { SOFTWARE } from "../version.ts";
import { ChildRegistry } from "./child-registry.ts";
import { prepareServer, runStdinServer } from "./stdinserver.ts";

/**
 * Starts serving `identity` and returns the client's end; `exited` settles with the session's
 * exit code once the session is over and its zfs children are reaped.
 * @throws UnknownIdentityError when the config has no such client
 */
export function serveInProcess(config: Config, identity: string): ServerDuplex {
  const prepared = { ...prepareServer(config, identity), job: jobOf(config, identity) };
  const label = `local stdinserver ${identity}`;
  const log = debugOnlyLogger(label);
  const [client, server] = pipeDuplexPair([label, "in-process"]);
  const exited = runStdinServer({ config, identity, prepared, duplex: server, software: SOFTWARE, log, children: new ChildRegistry() })
    .catch((err: Error) => {
      log.debug(`session failed: ${err.message}`);
      return 1;
    })
    .finally(() => server.close());
  return {
    ...client,
    exited,
    async close() {
      // EOF to the session, and writes into a connection nobody reads fail at once (as they
      // would to a spawned server's stdout): either way it ends and reaps its zfs children.
      await client.close();
      await exited;
    },
  };
}

/**
 * What the sessions of one job share (ServerContext.job): its workers serve one identity with one
 * config, which each command loads once for the one job (or cycle) it runs.
 */
const jobs = new WeakMap<Config, Map<string, object>>();

function jobOf(config: Config, identity: string): object {
  let byIdentity = jobs.get(config);
  if (!byIdentity) jobs.set(config, (byIdentity = new Map()));
  let job = byIdentity.get(identity);
  if (!job) byIdentity.set(identity, (job = {}));
  return job;
}
