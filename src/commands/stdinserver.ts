/**
 * `zferry stdinserver IDENTITY`: the SSH forced command. stdout is the wire from the first byte:
 * nothing here prints; errors before serving are one line on stderr and exit code 2.
 */
import { defineCommand } from "citty";
import { loadConfig } from "../config/index.ts";
import { configureLogging, logger } from "../log.ts";
import { ChildRegistry, prepareServer, runStdinServer } from "../server/index.ts";
import { stdioDuplex } from "../transport/index.ts";
import { SOFTWARE } from "../version.ts";
import { UsageError } from "./errors.ts";

export default defineCommand({
  meta: { name: "stdinserver", description: "Serve one client identity on stdin/stdout (the SSH forced command)" },
  args: {
    identity: { type: "positional", description: "Client identity: a [clients.NAME] of the config", required: true },
    config: { type: "string", description: "Config file (default $ZFERRY_CONFIG or /etc/zferry/zferry.toml)" },
  },
  async run({ args }) {
    const config = loadConfig(args.config);
    configureLogging({ level: config.log.level, file: config.log.file });
    const log = logger.withTag(`stdinserver ${args.identity}`);
    let prepared;
    try {
      prepared = prepareServer(config, args.identity);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const children = new ChildRegistry();
    // sshd sends SIGHUP when the client goes away; a supervisor sends SIGTERM. Either way no zfs
    // child may outlive us.
    for (const signal of ["SIGHUP", "SIGTERM", "SIGINT"] as const) {
      process.once(signal, () => {
        log.warn(`Received ${signal}; stopping`);
        void children.killAll().finally(() => process.exit(128 + (signal === "SIGHUP" ? 1 : signal === "SIGINT" ? 2 : 15)));
      });
    }
    const code = await runStdinServer({ config, identity: args.identity, prepared, duplex: stdioDuplex(), software: SOFTWARE, log, children });
    process.exit(code);
  },
});
