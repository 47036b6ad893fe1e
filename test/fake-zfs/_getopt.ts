/**
 * glibc-style getopt as OpenZFS uses it on Linux: options may follow operands (argv is permuted),
 * clustered flags (`-nvt TOKEN`), attached arguments (`-iSNAP`), `--` ends options, and a leading
 * ':' in the spec means "report a missing argument separately".
 */
export type Opt = { readonly opt: string; readonly arg?: string };

export type GetoptResult =
  | { readonly ok: true; readonly opts: Opt[]; readonly rest: string[] }
  | { readonly ok: false; readonly message: string };

/** `spec` as for getopt(3); `longs` maps a long name to its short letter. */
export function getopt(argv: readonly string[], spec: string, longs: Record<string, string> = {}): GetoptResult {
  const withArg = new Set<string>();
  const known = new Set<string>();
  for (let i = spec.startsWith(":") ? 1 : 0; i < spec.length; i++) {
    known.add(spec[i]!);
    if (spec[i + 1] === ":") {
      withArg.add(spec[i]!);
      i++;
    }
  }
  const opts: Opt[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith("--")) {
      const [name, attached] = a.slice(2).split(/=(.*)/s) as [string, string | undefined];
      const short = longs[name];
      if (short === undefined) return { ok: false, message: `invalid option '${a}'` };
      if (withArg.has(short)) {
        const arg = attached ?? argv[++i];
        if (arg === undefined) return { ok: false, message: `missing argument for '${a}' option` };
        opts.push({ opt: short, arg });
      } else {
        opts.push({ opt: short });
      }
      continue;
    }
    if (!a.startsWith("-") || a === "-") {
      rest.push(a);
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      if (!known.has(c)) return { ok: false, message: `invalid option '${c}'` };
      if (!withArg.has(c)) {
        opts.push({ opt: c });
        continue;
      }
      const arg = j + 1 < a.length ? a.slice(j + 1) : argv[++i];
      if (arg === undefined) return { ok: false, message: `missing argument for '${c}' option` };
      opts.push({ opt: c, arg });
      break;
    }
  }
  return { ok: true, opts, rest };
}
