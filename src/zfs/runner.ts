/**
 * `ZfsRunner` binds the configured zfs binary (`[zfs] bin`) to `runZfs` and to the capability
 * cache, so `list.ts`, `send.ts` and `recv.ts` take one argument instead of a binary path.
 */
import { detectCapabilities, type ZfsCapabilities } from "./capabilities.ts";
import { DEFAULT_ZFS_BIN, runZfs, runZfsCapture, type RunZfsOptions, type ZfsOutput } from "./run.ts";

export type ZfsRunOptions = Omit<RunZfsOptions, "bin">;

export class ZfsRunner {
  readonly bin: string;

  constructor(options: { bin?: string } = {}) {
    this.bin = options.bin ?? DEFAULT_ZFS_BIN;
  }

  /** `runZfs` with this runner's binary. */
  run(argv: readonly string[], options: ZfsRunOptions = {}): Promise<string> {
    return runZfs(argv, { ...options, bin: this.bin });
  }

  /** `runZfsCapture` with this runner's binary. */
  capture(argv: readonly string[], options: ZfsRunOptions = {}): Promise<ZfsOutput> {
    return runZfsCapture(argv, { ...options, bin: this.bin });
  }

  /** The binary's capabilities, probed once per process. */
  capabilities(): Promise<ZfsCapabilities> {
    return detectCapabilities(this.bin);
  }
}
