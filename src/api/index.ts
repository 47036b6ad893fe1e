/**
 * api: the contract between `stdinserver` and its clients, built on rpc/ (schemas) and zfs/ (names).
 * server/ implements it, client/ calls it; neither imports the other.
 */
export * from "./protocol.ts";
export * from "./tree-columns.ts";
