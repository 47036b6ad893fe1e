import { describe, expect, test } from "bun:test";
import { ValidationError, approxBytes, array, boolean, checked, literal, none, object, optional, string, u64, uint, type Parser } from "./schema.ts";

function expectInvalid(parser: Parser<unknown>, input: unknown, path: string, message: string) {
  let err: unknown;
  try {
    parser(input, path);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ValidationError);
  expect(err).toBeInstanceOf(TypeError);
  expect((err as Error).message).toBe(message);
}

describe("ValidationError", () => {
  test("ValidationError quotes the field path before the message and keeps the path", () => {
    const err = new ValidationError("args.dataset", "expected a string, got number");
    expect(err).toBeInstanceOf(TypeError);
    expect(err.name).toBe("ValidationError");
    expect(err.message).toBe('"args.dataset": expected a string, got number');
    expect(err.path).toBe("args.dataset");
  });

  test("ValidationError without a path is just the message", () => {
    expect(new ValidationError("", "expected a map").message).toBe("expected a map");
  });
});

describe("scalar parsers", () => {
  const valid: [string, Parser<unknown>, unknown, unknown][] = [
    ["string", string(), "tank/a b", "tank/a b"],
    ["string of max length", string({ max: 3 }), "abc", "abc"],
    ["string of min length", string({ min: 1 }), "a", "a"],
    ["boolean false", boolean, false, false],
    ["uint 0", uint, 0, 0],
    ["uint MAX_SAFE_INTEGER", uint, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
    ["uint from a small bigint (a 64-bit CBOR head)", uint, 255n, 255],
    ["u64 from a number", u64, 42, 42n],
    ["u64 2^64 - 1", u64, 18446744073709551615n, 18446744073709551615n],
    ["approxBytes from a number", approxBytes, 1024, 1024],
    ["approxBytes from a small bigint (a 64-bit CBOR head)", approxBytes, 255n, 255],
    ["approxBytes 2^64 - 1, rounded", approxBytes, 18446744073709551615n, 2 ** 64],
    ["literal", literal("none", "value"), "value", "value"],
    ["optional absent", optional(string()), undefined, undefined],
    ["optional null", optional(string()), null, undefined],
    ["optional present", optional(uint), 3, 3],
    ["none: absent", none, undefined, undefined],
    ["none: null", none, null, undefined],
    ["none: empty map", none, {}, undefined],
  ];
  test.each(valid)("%s is accepted", (_name, parser, input, output) => {
    expect(parser(input, "f")).toEqual(output);
  });

  const invalid: [string, Parser<unknown>, unknown, string][] = [
    ["a number for a string", string(), 5, '"f": expected a string, got number'],
    ["bytes for a string", string(), new Uint8Array(1), '"f": expected a string, got bytes'],
    ["null for a string", string(), null, '"f": expected a string, got null'],
    ["a missing string", string(), undefined, '"f": expected a string, got undefined'],
    ["a string over max", string({ max: 3 }), "abcd", '"f": longer than 3 characters'],
    ["a string under min", string({ min: 2 }), "a", '"f": expected at least 2 characters'],
    ["a string for a boolean", boolean, "true", '"f": expected a boolean, got "true"'],
    ["a negative uint", uint, -1, '"f": expected a non-negative integer, got number'],
    ["a fractional uint", uint, 1.5, '"f": expected a non-negative integer, got number'],
    ["NaN for a uint", uint, Number.NaN, '"f": expected a non-negative integer, got number'],
    ["a uint past MAX_SAFE_INTEGER", uint, 2 ** 53, '"f": expected a non-negative integer, got number'],
    ["a bigint uint past MAX_SAFE_INTEGER", uint, 2n ** 53n, '"f": expected a non-negative integer, got bigint'],
    ["a string for a uint", uint, "1", '"f": expected a non-negative integer, got "1"'],
    ["2^64 for a u64", u64, 2n ** 64n, '"f": expected an unsigned 64-bit integer, got bigint'],
    ["a negative u64", u64, -1n, '"f": expected an unsigned 64-bit integer, got bigint'],
    ["an unsafe number for a u64", u64, 2 ** 64, '"f": expected an unsigned 64-bit integer, got number'],
    ["a negative approxBytes", approxBytes, -1, '"f": expected an unsigned 64-bit integer, got number'],
    ["2^64 for approxBytes", approxBytes, 2n ** 64n, '"f": expected an unsigned 64-bit integer, got bigint'],
    ["a string for approxBytes", approxBytes, "1", '"f": expected an unsigned 64-bit integer, got "1"'],
    ["another literal", literal("none", "value"), "octets", '"f": expected one of "none", "value", got "octets"'],
    ["a number for a literal", literal("a"), 1, '"f": expected one of "a", got number'],
    ["a long string for a literal (cut at 40)", literal("a"), "x".repeat(50), `"f": expected one of "a", got "${"x".repeat(40)}…"`],
    ["a wrong type inside optional", optional(string()), 5, '"f": expected a string, got number'],
    ["arguments for none", none, { a: 1 }, '"f": expected no arguments'],
    ["a number for none", none, 0, '"f": expected no arguments'],
  ];
  test.each(invalid)("%s is a ValidationError naming the field", (_name, parser, input, message) => {
    expectInvalid(parser, input, "f", message);
  });
});

describe("array", () => {
  test("array parses every item", () => {
    expect(array(uint)([1, 2, 3], "list")).toEqual([1, 2, 3]);
  });

  test.each([
    ["a bad item names its index", array(uint), [1, "x"], '"list[1]": expected a non-negative integer, got "x"'],
    ["a map is not an array", array(uint), {}, '"list": expected an array, got object'],
    ["too many items", array(uint, { max: 2 }), [1, 2, 3], '"list": more than 2 items'],
  ] as [string, Parser<unknown>, unknown, string][])("array: %s", (_name, parser, input, message) => {
    expectInvalid(parser, input, "list", message);
  });
});

describe("object", () => {
  const header = object({
    endpoint: string({ min: 1 }),
    args: optional(object({ dataset: string(), deep: optional(object({ n: uint })), list: optional(array(object({ n: uint }))) })),
    body: literal("none", "value"),
  });

  test("object returns exactly the known fields and drops absent optional ones", () => {
    expect(header({ endpoint: "e", body: "none" }, "request")).toEqual({ endpoint: "e", body: "none" });
    expect(header({ endpoint: "e", body: "value", args: { dataset: "tank/a", deep: { n: 1 } } }, "request")).toEqual({
      endpoint: "e",
      body: "value",
      args: { dataset: "tank/a", deep: { n: 1 } },
    });
  });

  const invalid: [string, unknown, string][] = [
    ["a missing field", { body: "none" }, '"request.endpoint": expected a string, got undefined'],
    ["an unknown field", { endpoint: "e", body: "none", extra: 1 }, '"request.extra": unknown field'],
    ["a wrong type", { endpoint: 7, body: "none" }, '"request.endpoint": expected a string, got number'],
    ["a nested wrong type", { endpoint: "e", body: "none", args: { dataset: 1 } }, '"request.args.dataset": expected a string, got number'],
    ["a deeply nested unknown field", { endpoint: "e", body: "none", args: { dataset: "d", deep: { n: 1, m: 2 } } }, '"request.args.deep.m": unknown field'],
    ["a wrong type in an array of maps in a map", { endpoint: "e", body: "none", args: { dataset: "d", list: [{ n: 1 }, { n: -1 }] } }, '"request.args.list[1].n": expected a non-negative integer, got number'],
    ["an array", [1, 2], '"request": expected a map, got an array'],
    ["bytes", new Uint8Array([1]), '"request": expected a map, got bytes'],
    ["a Map (CBOR tag 259)", new Map([["endpoint", "e"]]), '"request": expected a map, got object'],
    ["a Date (CBOR tag 1)", new Date(0), '"request": expected a map, got object'],
    ["null", null, '"request": expected a map, got null'],
    ["a string", "e", '"request": expected a map, got "e"'],
  ];
  test.each(invalid)("object rejects %s, naming the field path", (_name, input, message) => {
    expectInvalid(header, input, "request", message);
  });

  test("object reports an unknown field before a missing one", () => {
    expectInvalid(header, { extra: 1 }, "request", '"request.extra": unknown field');
  });

  test("a custom parser that names a field below its own path keeps it below the object's", () => {
    const level: Parser<number> = (v, path) => {
      throw new ValidationError(`${path}.level`, `expected 1..19, got ${String(v)}`);
    };
    expectInvalid(object({ compression: level }), { compression: 99 }, "args", '"args.compression.level": expected 1..19, got 99');
  });

  test("object at the root (empty path) names fields without a prefix", () => {
    expectInvalid(object({ a: uint }), { a: -1 }, "", '"a": expected a non-negative integer, got number');
  });
});

describe("checked", () => {
  test("checked returns the check's value and turns its error into a ValidationError on the field", () => {
    const even = checked((v) => {
      if (typeof v !== "number" || v % 2) throw new RangeError("not an even number");
      return v;
    });
    expect(even(4, "args.n")).toBe(4);
    expectInvalid(even, 3, "args.n", '"args.n": not an even number');
  });
});
