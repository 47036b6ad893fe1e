/** The peer broke the protocol: the connection can no longer be trusted and is closed. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

/** The connection ended (EOF, EPIPE, timeout) where the protocol expected more. */
export class ConnectionError extends Error {
  override name = "ConnectionError";
}
