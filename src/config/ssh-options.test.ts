import { expect, test } from "bun:test";
import { checkSshOption, SAFE_SSH_OPTION_KEYS } from "./ssh-options.ts";

test.each(["Ciphers=aes128-gcm@openssh.com", "compression=yes", "ServerAliveInterval=15", "UserKnownHostsFile=/a b/known_hosts"])(
  "checkSshOption accepts %j",
  (entry) => {
    expect(checkSshOption(entry)).toBe(entry);
  },
);

test.each([
  ["ProxyCommand=nc %h %p", "is not allowed"],
  ["proxycommand=nc %h %p", "is not allowed"],
  ["LocalCommand=id", "is not allowed"],
  ["PermitLocalCommand=yes", "is not allowed"],
  ["KnownHostsCommand=/bin/true", "is not allowed"],
  ["PKCS11Provider=/tmp/x.so", "is not allowed"],
  ["SecurityKeyProvider=/tmp/x.so", "is not allowed"],
  ["ProxyJump=jump", "is not allowed"],
  ["RemoteCommand=sh", "is not allowed"],
  ["LocalForward=1:h:2", "is not allowed"],
  ["Include=/etc/x", "is not allowed"],
  ["Match=exec true", "is not allowed"],
  ["BatchMode=no", "is not allowed"],
  ["Port=2222", "is not allowed"],
  ["Ciphers", 'expected "Key=Value"'],
  ["Ciphers aes128-ctr", 'expected "Key=Value"'],
  ["=x", 'expected "Key=Value"'],
  ["-oCiphers=x", 'expected "Key=Value"'],
])("checkSshOption rejects %j (%s)", (entry, message) => {
  expect(() => checkSshOption(entry)).toThrow(message);
});

test("no allowed key can run a command or load code", () => {
  const risky = /command|provider|proxy|include|match|forward|env|tunnel/i;
  expect(SAFE_SSH_OPTION_KEYS.filter((key) => risky.test(key))).toEqual([]);
});
