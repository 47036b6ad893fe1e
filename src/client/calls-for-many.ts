/**
 * Calls for many datasets at once (`protect_bases`, `prune_datasets`), with a result for each;
 * and, for one dataset, the answer such a call gave it, or the call for it alone where the server
 * predates the one for many.
 */
import type { Parser } from "../rpc/index.ts";
import { RpcError, type ErrorStatus } from "../rpc/index.ts";
import type { JobSession } from "./session.ts";

/** What a call for many answered for each dataset: its result, or why it failed there. Null where no such call was made. */
export type AnsweredForEach<R> = ReadonlyMap<string, { ok: true; result: R } | { ok: false; error: unknown }> | null;

/** A result of a call for many: one dataset's, or its failure. */
interface PerDataset {
  readonly dataset: string;
  readonly error?: { status: ErrorStatus; message: string } | undefined;
}

/**
 * Calls `endpoint` with `args(chunk)` for `items`, `max` a call, and returns each dataset's answer.
 * A call that fails, or answers for other datasets than it was asked about (in that order), fails
 * each of its datasets with that error.
 */
export async function callForEach<T extends { readonly dataset: string }, R extends PerDataset>(
  session: JobSession,
  endpoint: string,
  items: readonly T[],
  options: { max: number; args: (chunk: readonly T[]) => Record<string, unknown>; response: Parser<{ results: R[] }> },
): Promise<NonNullable<AnsweredForEach<R>>> {
  const answers = new Map<string, { ok: true; result: R } | { ok: false; error: unknown }>();
  for (let i = 0; i < items.length; i += options.max) {
    const chunk = items.slice(i, i + options.max);
    try {
      const { results } = await session.remote.rpc.callValue(endpoint, options.args(chunk), options.response);
      if (results.length !== chunk.length || results.some((r, k) => r.dataset !== chunk[k]!.dataset)) throw new Error(`the server's ${endpoint} answered for other datasets than were asked`);
      for (const r of results) answers.set(r.dataset, r.error ? { ok: false, error: new RpcError(r.error.status, r.error.message) } : { ok: true, result: r });
    } catch (error) {
      for (const item of chunk) answers.set(item.dataset, { ok: false, error });
    }
  }
  return answers;
}

/**
 * One dataset's answer: what the call for many said of it, or, where it was not asked (an older
 * server), `alone()` now.
 * @throws the server's refusal of that dataset
 */
export async function answerFor<R, A>(answered: AnsweredForEach<R>, dataset: string, alone: () => Promise<A>, fromMany: (result: R) => A): Promise<A> {
  const answer = answered?.get(dataset);
  if (answer === undefined) return alone();
  if (!answer.ok) throw answer.error;
  return fromMany(answer.result);
}
