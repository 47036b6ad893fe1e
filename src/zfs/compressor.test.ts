import { expect, test } from "bun:test";
import { compressorFailure, parseZstdTotals } from "./compressor.ts";

test.each([
  ["/*stdin*\\            :  0.01%   (5000000 B =>    507 B, /*stdout*\\) \n/*stdin*\\            : Completed in 0.03 sec", 5_000_000],
  ["/*stdin*\\            :100.00%   (10485760 B => 10486010 B, /*stdout*\\) ", 10_485_760],
  ["Sparse File Support is automatically disabled on stdout ; try --sparse \n/*stdin*\\           : 5000000 bytes ", 5_000_000],
  ["zstd: /*stdin*\\: unknown header", null],
])("parseZstdTotals reads zstd -vv's exact stream size (%#)", (stderr, bytes) => {
  expect(parseZstdTotals(stderr)).toBe(bytes);
});

test("compressorFailure names what failed and zstd's last line, not its banner", () => {
  const stderr = "*** Zstandard CLI (64-bit) v1.5.4, by Yann Collet ***\nUsing stdin for input \nzstd: /*stdin*\\: unsupported format \n";
  expect(compressorFailure("decompression", { exitCode: 1, signalCode: null, stderrTail: stderr, streamBytes: null })).toBe(
    "zstd decompression failed: exit 1: zstd: /*stdin*\\: unsupported format",
  );
  expect(compressorFailure("compression", { exitCode: 143, signalCode: "SIGTERM", stderrTail: "", streamBytes: null })).toBe("zstd compression failed: killed by SIGTERM");
  expect(compressorFailure("compression", { exitCode: 0, signalCode: null, stderrTail: "", streamBytes: 1 })).toBeNull();
});
