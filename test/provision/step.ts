/**
 * One line per provisioning step on stderr ("test setup: …"), with the time a slow step took, so that a
 * first run on a fresh machine says what it is doing while it installs and builds.
 */
export function step(what: string): void;
export function step<T>(what: string, work: () => Promise<T>): Promise<T>;
export function step<T>(what: string, work?: () => Promise<T>): void | Promise<T> {
  process.stderr.write(`test setup: ${what}\n`);
  if (!work) return;
  const started = performance.now();
  return work().then((value) => {
    const seconds = (performance.now() - started) / 1000;
    if (seconds >= 1) process.stderr.write(`test setup: ${what}: done in ${seconds.toFixed(0)} s\n`);
    return value;
  });
}
