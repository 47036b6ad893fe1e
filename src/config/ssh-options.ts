/**
 * The `-o Key=Value` options a job may pass to ssh. An allowlist rather than a denylist: ssh keeps
 * adding keys that run commands or load code (ProxyCommand, LocalCommand, KnownHostsCommand,
 * PKCS11Provider, SecurityKeyProvider, Match exec), and a config file should not be a way to run
 * one. Keys that zferry sets itself (BatchMode, Port, User, IdentityFile, Hostname) or that would
 * open forwardings are left out too. Adding a key is a code change with a reason.
 */

export const SAFE_SSH_OPTION_KEYS: readonly string[] = Object.freeze([
  "AddressFamily",
  "BindAddress",
  "BindInterface",
  "CASignatureAlgorithms",
  "CertificateFile",
  "CheckHostIP",
  "Ciphers",
  "Compression",
  "ConnectTimeout",
  "ConnectionAttempts",
  "ControlMaster",
  "ControlPath",
  "ControlPersist",
  "FingerprintHash",
  "GlobalKnownHostsFile",
  "HashKnownHosts",
  "HostKeyAlgorithms",
  "HostKeyAlias",
  "IPQoS",
  "IdentitiesOnly",
  "IdentityAgent",
  "KexAlgorithms",
  "LogLevel",
  "MACs",
  "PreferredAuthentications",
  "PubkeyAcceptedAlgorithms",
  "PubkeyAcceptedKeyTypes",
  "RekeyLimit",
  "RequiredRSASize",
  "ServerAliveCountMax",
  "ServerAliveInterval",
  "StrictHostKeyChecking",
  "TCPKeepAlive",
  "UpdateHostKeys",
  "UserKnownHostsFile",
  "VerifyHostKeyDNS",
]);

const BY_LOWER = new Map(SAFE_SSH_OPTION_KEYS.map((key) => [key.toLowerCase(), key]));
const OPTION = /^([A-Za-z][A-Za-z0-9]*)=(.+)$/s;

/**
 * Checks one `Key=Value` entry; ssh matches keys case-insensitively, and so does this.
 * @throws TypeError naming what is wrong
 */
export function checkSshOption(entry: string): string {
  const match = OPTION.exec(entry);
  if (!match) throw new TypeError(`invalid ssh option ${JSON.stringify(entry)}: expected "Key=Value"`);
  const key = match[1] as string;
  if (!BY_LOWER.has(key.toLowerCase())) {
    throw new TypeError(
      `ssh option ${JSON.stringify(key)} is not allowed (it is not on the list of safe keys: ${SAFE_SSH_OPTION_KEYS.join(", ")})`,
    );
  }
  return entry;
}
