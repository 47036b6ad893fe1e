/**
 * Which OpenZFS features the installed zfs has, read from its own usage text. zfs prints the usage
 * of every subcommand on stderr (exit 2) when called without arguments, so probing changes nothing
 * and takes one process; a zfs whose overview lacks the send, receive or list lines is asked for
 * each subcommand's usage instead. Old zfs (zfs-fuse, pool v23) and OpenZFS 2.x differ in exactly
 * the flags zferry cares about.
 */
import { ZfsError } from "./errors.ts";
import { runZfsCapture, type ZfsOutput } from "./run.ts";

export interface ZfsCapabilities {
  /** `zfs list -p` (exact numbers); without it guid etc. come from `zfs get -p`. */
  readonly listParsable: boolean;
  /** `zfs bookmark` and `-t bookmark`. */
  readonly bookmarks: boolean;
  /** `zfs send -n -P` size estimates. */
  readonly sendEstimate: boolean;
  /** `zfs recv -s`, `zfs send -t`, `zfs recv -A` and the receive_resume_token property. */
  readonly resumable: boolean;
  /** `zfs send -w` */
  readonly raw: boolean;
  /** `zfs send -c` */
  readonly compressed: boolean;
  /** `zfs send -L` */
  readonly largeBlocks: boolean;
  /** `zfs send -e` */
  readonly embedded: boolean;
  /** `zfs send -p` */
  readonly properties: boolean;
  /** `zfs recv -u` */
  readonly recvNoMount: boolean;
  /** `zfs recv -o property=value`: properties set by the receive itself (no `zfs set` after it). */
  readonly recvProperties: boolean;
  /** `zfs recv -x property`: a stream's property ignored by the receive itself. */
  readonly recvExclude: boolean;
  /** `zfs send -I` */
  readonly intermediates: boolean;
}

const cache = new Map<string, Promise<ZfsCapabilities>>();

/**
 * Detects (once per binary, then cached) what the zfs at `bin` supports.
 * @throws ZfsNotFoundError when the binary cannot be started
 * @throws ZfsError when the output does not look like zfs usage text
 */
export function detectCapabilities(bin: string): Promise<ZfsCapabilities> {
  let pending = cache.get(bin);
  if (!pending) {
    pending = probe(bin);
    cache.set(bin, pending);
    // A failed probe (binary missing right now) must not stick.
    pending.catch(() => cache.delete(bin));
  }
  return pending;
}

/** Parses the usage texts of `zfs`, `zfs send`, `zfs receive` and `zfs list -?` into capabilities. */
export function parseCapabilities(usage: { main: string; send: string; receive: string; list: string }): ZfsCapabilities {
  const send = flagsOf(usage.send, "send");
  const receive = flagsOf(usage.receive, "receive");
  const list = flagsOf(usage.list, "list");
  const sendResume = /-t <receive_resume_token>/.test(usage.send);
  return {
    listParsable: list.has("p"),
    bookmarks: /^\tbookmark /m.test(usage.main),
    sendEstimate: send.has("n") && send.has("P"),
    resumable: sendResume && receive.has("s") && /receive -A /.test(usage.receive),
    raw: send.has("w"),
    compressed: send.has("c"),
    largeBlocks: send.has("L"),
    embedded: send.has("e"),
    properties: send.has("p"),
    recvNoMount: receive.has("u"),
    recvProperties: /^\treceive .*-o <?property>?=/m.test(usage.receive),
    recvExclude: /^\treceive .*-x <?property>?/m.test(usage.receive),
    intermediates: /-\[iI\]|-\[i\|I\]|-i\|-I/.test(usage.send),
  };
}

// --- internal ---

async function probe(bin: string): Promise<ZfsCapabilities> {
  const main = await runZfsCapture([], { bin });
  const overview = textOf(main);
  if (SUBCOMMANDS.every((word) => usageLine(word).test(overview))) {
    return parseCapabilities({ main: overview, send: overview, receive: overview, list: overview });
  }
  const [send, receive, list] = await Promise.all([runZfsCapture(["send"], { bin }), runZfsCapture(["receive"], { bin }), runZfsCapture(["list", "-?"], { bin })]);
  for (const [argv, out, word] of [
    [["send"], send, "send"],
    [["receive"], receive, "receive"],
    [["list", "-?"], list, "list"],
  ] as const) {
    if (!usageLine(word).test(textOf(out))) {
      throw new ZfsError(`detect capabilities of ${JSON.stringify(bin)}: "zfs ${argv.join(" ")}" printed no ${word} usage`, {
        argv,
        exitCode: out.exitCode,
        stderr: out.stderr,
      });
    }
  }
  return parseCapabilities({ main: textOf(main), send: textOf(send), receive: textOf(receive), list: textOf(list) });
}

const SUBCOMMANDS = ["send", "receive", "list"] as const;

/** The start of a usage line for `word` (zfs indents each with a tab). */
function usageLine(word: string): RegExp {
  return new RegExp(`^\\t${word} `, "m");
}

/** Usage goes to stderr on error and to stdout when asked for; take both. */
function textOf(out: ZfsOutput): string {
  return `${out.stdout}\n${out.stderr}`;
}

/** The single-letter flags in the first `[-…]` group of every usage line for `command`. */
function flagsOf(usage: string, command: string): Set<string> {
  const flags = new Set<string>();
  for (const m of usage.matchAll(new RegExp(`^\\t${command} \\[-([A-Za-z]+)\\]`, "gm"))) {
    for (const ch of m[1]!) flags.add(ch);
  }
  return flags;
}
