/**
 * A link of a given speed, for the WAN figures: listens on 127.0.0.1 (an ephemeral port, printed
 * on stdout), and relays each connection to 127.0.0.1:TARGET_PORT, pacing the direction towards
 * the connecting side (what a pull receives) to RATE bytes per second with a token bucket; the
 * other direction (requests, acks) passes as it comes. Loopback only, by design.
 *
 *     bun bench/pacing-relay.ts TARGET_PORT RATE
 */
import { createConnection, createServer, type Socket } from "node:net";

const [targetPort, rate] = process.argv.slice(2).map(Number) as [number, number];
if (!(targetPort > 0) || !(rate > 0)) {
  process.stderr.write("usage: bun bench/pacing-relay.ts TARGET_PORT RATE_BYTES_PER_SECOND\n");
  process.exit(2);
}
/** Credit a quiet link may build up: 10 ms worth, as a router's queue would allow. */
const BURST_MS = 10;

const server = createServer((client) => {
  const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
  client.pipe(upstream);
  pace(upstream, client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on("error", close).on("close", close);
  upstream.on("error", close).on("close", close);
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`${typeof address === "object" && address ? address.port : 0}\n`);
});

/** Copies `from` to `to`, letting each chunk go when the bucket allows it. */
function pace(from: Socket, to: Socket): void {
  let next = performance.now();
  from.on("data", (chunk: Buffer) => {
    const now = performance.now();
    if (next < now - BURST_MS) next = now - BURST_MS;
    const at = next;
    next += (chunk.length * 1000) / rate;
    const wait = at - now;
    if (wait <= 0) {
      if (!to.write(chunk)) {
        from.pause();
        to.once("drain", () => from.resume());
      }
      return;
    }
    from.pause();
    setTimeout(() => {
      if (to.write(chunk)) from.resume();
      else to.once("drain", () => from.resume());
    }, wait);
  });
  from.on("end", () => setTimeout(() => to.end(), Math.max(0, next - performance.now())));
}
