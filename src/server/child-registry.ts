/**
 * The zfs children a session has running, so that a hang-up, a signal or an error anywhere kills
 * and reaps all of them: no `zfs send` is left blocked on a pipe nobody reads.
 */
interface Killable {
  kill(signal?: NodeJS.Signals | number): Promise<unknown>;
}

export class ChildRegistry {
  readonly #live = new Set<Killable>();

  add<T extends Killable>(child: T): T {
    this.#live.add(child);
    return child;
  }

  remove(child: Killable): void {
    this.#live.delete(child);
  }

  get size(): number {
    return this.#live.size;
  }

  /** Kills every live child (SIGTERM, then SIGKILL after `graceMs`) and waits until all are reaped. */
  async killAll(graceMs = 2_000): Promise<void> {
    const children = [...this.#live];
    this.#live.clear();
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
