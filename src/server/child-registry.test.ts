import { expect, test } from "bun:test";
import { ChildRegistry } from "./child-registry.ts";

/** A child that exits when told to, and records the signals it got. */
function fakeChild() {
  const exit = Promise.withResolvers<void>();
  const signals: (NodeJS.Signals | number | undefined)[] = [];
  return {
    signals,
    exit: () => exit.resolve(),
    kill(signal?: NodeJS.Signals | number) {
      signals.push(signal);
      return exit.promise;
    },
  };
}

test("ChildRegistry is idle without children, and again once the last is removed", async () => {
  const children = new ChildRegistry();
  expect(children.idle).toBe(true);
  const child = children.add(fakeChild());
  expect(children.idle).toBe(false);
  let resolved = false;
  const idle = children.whenIdle().then(() => void (resolved = true));
  await Bun.sleep(0);
  expect(resolved).toBe(false);
  children.remove(child);
  await idle;
  expect(children.idle).toBe(true);
});

test("ChildRegistry.whenIdle waits for killAll to reap, not only to start killing", async () => {
  const children = new ChildRegistry();
  const child = children.add(fakeChild());
  const killed = children.killAll();
  let resolved = false;
  const idle = children.whenIdle().then(() => void (resolved = true));
  await Bun.sleep(0);
  expect({ size: children.size, idle: children.idle, resolved, signals: child.signals }).toEqual({ size: 0, idle: false, resolved: false, signals: ["SIGTERM"] });
  child.exit();
  await Promise.all([killed, idle]);
  expect(children.idle).toBe(true);
});
