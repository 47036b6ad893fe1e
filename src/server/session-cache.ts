/**
 * A value computed once per session (per ServerContext) on first use, such as a listing that
 * many calls of the session check against; or once per job (jobCache). A failed computation is
 * not kept: the next call tries again.
 */
import type { ServerContext } from "./context.ts";

export interface SessionCache<T> {
  get(ctx: ServerContext): Promise<T>;
  /** Drops the session's value: the next `get` computes it afresh. */
  forget(ctx: ServerContext): void;
  /** The session's value, unless it has one already: what the session learnt doing something else. */
  offer(ctx: ServerContext, value: T): void;
}

export function sessionCache<T>(load: (ctx: ServerContext) => Promise<T>): SessionCache<T> {
  return keyedCache(load, (ctx) => ctx);
}

/**
 * The same, computed once for all the sessions of one job (ServerContext.job): for a value that
 * holds as long as a session does, which the job's workers' sessions need each.
 */
export function jobCache<T>(load: (ctx: ServerContext) => Promise<T>): SessionCache<T> {
  return keyedCache(load, (ctx) => ctx.job);
}

function keyedCache<T>(load: (ctx: ServerContext) => Promise<T>, keyOf: (ctx: ServerContext) => object): SessionCache<T> {
  const values = new WeakMap<object, Promise<T>>();
  return {
    get(ctx) {
      const key = keyOf(ctx);
      let pending = values.get(key);
      if (!pending) {
        pending = load(ctx);
        values.set(key, pending);
        pending.catch(() => values.delete(key));
      }
      return pending;
    },
    forget: (ctx) => void values.delete(keyOf(ctx)),
    offer(ctx, value) {
      if (!values.has(keyOf(ctx))) values.set(keyOf(ctx), Promise.resolve(value));
    },
  };
}
