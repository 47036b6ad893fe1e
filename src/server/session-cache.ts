/**
 * A value computed once per session (per ServerContext) on first use, such as a listing that
 * many calls of the session check against. A failed computation is not kept: the next call tries again.
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
  const values = new WeakMap<ServerContext, Promise<T>>();
  return {
    get(ctx) {
      let pending = values.get(ctx);
      if (!pending) {
        pending = load(ctx);
        values.set(ctx, pending);
        pending.catch(() => values.delete(ctx));
      }
      return pending;
    },
    forget: (ctx) => void values.delete(ctx),
    offer(ctx, value) {
      if (!values.has(ctx)) values.set(ctx, Promise.resolve(value));
    },
  };
}
