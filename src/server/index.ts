/**
 * server: `stdinserver`, the RPC server for one client identity, with its ACL and endpoints.
 * It uses api/ (the contract), rpc/ (serving), zfs/ (commands) and config/; never client/.
 */
export { Acl, UnknownIdentityError, aclForIdentity } from "./acl.ts";
export { ChildRegistry } from "./child-registry.ts";
export { serveInProcess } from "./in-process.ts";
export { prepareServer, runStdinServer, type PreparedServer, type StdinServerOptions } from "./stdinserver.ts";
