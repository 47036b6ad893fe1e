/**
 * The zfs children a session has running, so that a hang-up, a signal or an error anywhere kills
 * and reaps all of them: no `zfs send` is left blocked on a pipe nobody reads.
 */
interface Killable {
  kill(signal?: NodeJS.Signals | number): Promise<unknown>;
}

export class ChildRegistry {
  readonly #live = new Set<Killable>();
  #reaping = 0;
  #idle: (() => void)[] = [];

  add<T extends Killable>(child: T): T {
    this.#live.add(child);
    return child;
  }

  remove(child: Killable): void {
    this.#live.delete(child);
    this.#notifyIdle();
  }

  /** No child is live or being reaped. */
  get idle(): boolean {
    return this.#isIdle();
  }

  /** Resolves once no child is live or being reaped. */
  whenIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#idle.push(resolve);
    return promise;
  }

  get size(): number {
    return this.#live.size;
  }

  /** Kills every live child (SIGTERM, then SIGKILL after `graceMs`) and waits until all are reaped. */
  async killAll(graceMs = 2_000): Promise<void> {
    const children = [...this.#live];
    this.#live.clear();
    this.#reaping++;
    try {
      await this.#reap(children, graceMs);
    } finally {
      this.#reaping--;
      this.#notifyIdle();
    }
  }

  #isIdle(): boolean {
    return this.#live.size === 0 && this.#reaping === 0;
  }

  #notifyIdle(): void {
    if (this.#isIdle()) for (const resolve of this.#idle.splice(0)) resolve();
  }

  async #reap(children: Killable[], graceMs: number): Promise<void> {
    await Promise.all(
      children.map(async (c) => {
        const done = c.kill("SIGTERM");
        const timer = setTimeout(() => void c.kill("SIGKILL"), graceMs);
        try {
          await done;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  }
}
