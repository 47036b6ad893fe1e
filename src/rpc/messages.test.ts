import { describe, expect, test } from "bun:test";
import { MAX_ERROR_TEXT } from "../wire/index.ts";
import { clampErrorText, parseRequestHeader, parseReset, parseResponseHeader, parseTrailer } from "./messages.ts";

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(TypeError);
    return (err as Error).message;
  }
  throw new Error("expected a TypeError");
}

describe("message parsers", () => {
  test("parseRequestHeader accepts a header with and without args", () => {
    expect(parseRequestHeader({ endpoint: "ping", body: "none", accept: "none" }, "request header")).toEqual({ endpoint: "ping", body: "none", accept: "none" });
    expect(parseRequestHeader({ endpoint: "echo", args: { a: [1] }, body: "value", accept: "octets" }, "h")).toEqual({
      endpoint: "echo",
      args: { a: [1] },
      body: "value",
      accept: "octets",
    });
  });

  test.each([
    ["a missing endpoint", { body: "none", accept: "none" }, '"request header.endpoint": expected a string, got undefined'],
    ["an empty endpoint", { endpoint: "", body: "none", accept: "none" }, '"request header.endpoint": expected a non-empty string'],
    ["a 65-character endpoint", { endpoint: "e".repeat(65), body: "none", accept: "none" }, '"request header.endpoint": longer than 64 characters'],
    ["an unknown body kind", { endpoint: "e", body: "stream", accept: "none" }, '"request header.body": expected one of "none", "value", "octets", got "stream"'],
    ["a missing accept", { endpoint: "e", body: "none" }, '"request header.accept": expected one of "none", "value", "octets", got undefined'],
    ["an unknown field", { endpoint: "e", body: "none", accept: "none", timeout: 5 }, '"request header.timeout": unknown field'],
  ])("parseRequestHeader rejects %s", (_name, input, message) => {
    expect(messageOf(() => parseRequestHeader(input, "request header"))).toBe(message);
  });

  test.each([
    ["an ok status", { status: "ok", body: "value" }, { status: "ok", body: "value" }],
    ["an error with its message", { status: "not_found", message: "no such dataset", body: "none" }, { status: "not_found", message: "no such dataset", body: "none" }],
    ["a null message (dropped)", { status: "ok", message: null, body: "none" }, { status: "ok", body: "none" }],
  ])("parseResponseHeader accepts %s", (_name, input, output) => {
    expect(parseResponseHeader(input, "response header")).toEqual(output as never);
  });

  test("parseResponseHeader rejects a status outside STATUSES", () => {
    expect(messageOf(() => parseResponseHeader({ status: "teapot", body: "none" }, "response header"))).toBe(
      '"response header.status": expected one of "ok", "bad_request", "permission_denied", "not_found", "conflict", "busy", "unsupported", "server_error", got "teapot"',
    );
  });

  test.each([
    ["a success", { ok: true, bytes: 0 }, { ok: true, bytes: 0 }],
    ["a failure with a 64-bit-encoded count", { ok: false, bytes: 5n, error: "zfs exited 1" }, { ok: false, bytes: 5, error: "zfs exited 1" }],
  ])("parseTrailer accepts %s", (_name, input, output) => {
    expect(parseTrailer(input, "trailer")).toEqual(output);
  });

  test.each([
    ["a non-boolean ok", { ok: 1, bytes: 0 }, '"trailer.ok": expected a boolean, got number'],
    ["negative bytes", { ok: true, bytes: -1 }, '"trailer.bytes": expected a non-negative integer, got number'],
    ["an unknown field", { ok: true, bytes: 0, extra: 1 }, '"trailer.extra": unknown field'],
  ])("parseTrailer rejects %s", (_name, input, message) => {
    expect(messageOf(() => parseTrailer(input, "trailer"))).toBe(message);
  });

  test.each([
    ["stream", { reason: "enough", scope: "stream" }],
    ["connection", { reason: "bye", scope: "connection" }],
  ])("parseReset accepts scope %s", (_name, input) => {
    expect(parseReset(input, "reset")).toEqual(input as never);
  });

  test.each([
    ["a missing scope", { reason: "x" }, '"reset.scope": expected one of "stream", "connection", got undefined'],
    ["a number for the reason", { reason: 5, scope: "stream" }, '"reset.reason": expected a string, got number'],
  ])("parseReset rejects %s", (_name, input, message) => {
    expect(messageOf(() => parseReset(input, "reset"))).toBe(message);
  });
});

describe("clampErrorText", () => {
  test("clampErrorText trims and keeps short text", () => {
    expect(clampErrorText("  zfs exited 1\n")).toBe("zfs exited 1");
  });

  test.each([
    ["ASCII", "a", 1],
    ["2-byte UTF-8 (é)", "é", 2],
    ["3-byte UTF-8 (€)", "€", 3],
    ["4-byte UTF-8 (😀, two UTF-16 units)", "😀", 4],
  ])("clampErrorText keeps the end of long %s text within MAX_ERROR_TEXT bytes of UTF-8, marked with an ellipsis", (_name, char, size) => {
    const out = clampErrorText(`${char.repeat(MAX_ERROR_TEXT)}THE REASON`);
    const bytes = Buffer.byteLength(out, "utf8");
    expect(bytes).toBeLessThanOrEqual(MAX_ERROR_TEXT);
    expect(bytes).toBeGreaterThan(MAX_ERROR_TEXT - size);
    expect(out.startsWith("…")).toBe(true);
    expect(out.endsWith("THE REASON")).toBe(true);
    expect(out.isWellFormed()).toBe(true); // never half a surrogate pair
    expect(parseTrailer({ ok: false, bytes: 0, error: out }, "trailer").error).toBe(out);
  });

  test("clampErrorText keeps text of exactly MAX_ERROR_TEXT bytes whole", () => {
    const text = "é".repeat(MAX_ERROR_TEXT / 2);
    expect(clampErrorText(text)).toBe(text);
  });
});

// Regression: MAX_ERROR_TEXT was counted in UTF-16 code units (and 64 more were accepted), which
// another implementation cannot count the same way; it is bytes of UTF-8, and more is an error.
describe("error text limits", () => {
  const atLimit = "é".repeat(MAX_ERROR_TEXT / 2); // 8192 bytes, 4096 UTF-16 units
  const over = `${atLimit}a`;
  test.each([
    ["a response message", (t: string) => parseResponseHeader({ status: "conflict", message: t, body: "none" }, "response header"), '"response header.message"'],
    ["a trailer error", (t: string) => parseTrailer({ ok: false, bytes: 0, error: t }, "trailer"), '"trailer.error"'],
    ["a reset reason", (t: string) => parseReset({ reason: t, scope: "connection" }, "reset"), '"reset.reason"'],
  ])("%s of MAX_ERROR_TEXT bytes of UTF-8 is accepted, one byte more is refused", (_name, parse, field) => {
    expect(() => parse(atLimit)).not.toThrow();
    expect(messageOf(() => parse(over))).toBe(`${field}: longer than ${MAX_ERROR_TEXT} bytes of UTF-8 (${MAX_ERROR_TEXT + 1})`);
  });
});
