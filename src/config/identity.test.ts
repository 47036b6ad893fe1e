import { expect, test } from "bun:test";
import { parseIdentity } from "./identity.ts";

test.each(["backup1", "a", "host.example.com", "a_b-c", "x-", "9", "x".repeat(64)])("parseIdentity accepts %j", (name) => {
  expect(parseIdentity(name)).toBe(name);
});

test.each([
  ["", "invalid identity: empty"],
  ["-x", 'invalid identity "-x": must not begin with "-"'],
  ["a b", 'invalid identity "a b": only A-Z, a-z, 0-9, "_", "." and "-" are allowed'],
  ["a/b", 'invalid identity "a/b": only A-Z, a-z, 0-9, "_", "." and "-" are allowed'],
  ["a;rm", 'invalid identity "a;rm": only A-Z, a-z, 0-9, "_", "." and "-" are allowed'],
  ["bår", 'invalid identity "bår": only A-Z, a-z, 0-9, "_", "." and "-" are allowed'],
  ["a\n", 'invalid identity "a\\n": only A-Z, a-z, 0-9, "_", "." and "-" are allowed'],
  ["x".repeat(65), `invalid identity "${"x".repeat(65)}": longer than 64 characters`],
  [42, "invalid identity: expected a string, got number"],
])("parseIdentity rejects %j", (input, message) => {
  expect(() => parseIdentity(input)).toThrow(new TypeError(message));
});
