/**
 * A TCP port on 127.0.0.1 that was free a moment ago: the kernel picks it for a listener that
 * closes at once. Another process may take it before the caller binds it, so a caller retries
 * with another when its bind fails (the sshd harness, the OpenZFS guest's forward).
 */
export function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = server;
  server.stop(true);
  return port;
}
