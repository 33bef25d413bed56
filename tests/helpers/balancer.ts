// A round-robin TCP balancer on loopback, as a load balancer in front of several stateless cloud
// gateways: each new connection goes to the next backend; one that refuses the connection is
// skipped (as a health-checking balancer would), so a killed gateway drops only what it had open.
import net from "node:net";

export interface Balancer {
  url: string;
  /** Connections sent to each backend so far. */
  counts: number[];
  close(): Promise<void>;
}

export async function startBalancer(backends: { host: string; port: number }[]): Promise<Balancer> {
  let next = 0;
  const counts = backends.map(() => 0);
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
  };
  const server = net.createServer((client) => {
    track(client);
    client.pause();
    const tryBackend = (left: number) => {
      if (left === 0) return client.destroy();
      const i = next++ % backends.length;
      const upstream = net.connect(backends[i].port, backends[i].host);
      track(upstream);
      let connected = false;
      upstream.once("connect", () => {
        connected = true;
        counts[i]++;
        client.pipe(upstream).pipe(client);
        client.resume();
        upstream.on("close", () => client.destroy());
        client.on("close", () => upstream.destroy());
      });
      upstream.once("error", () => {
        if (connected) return client.destroy();
        tryBackend(left - 1);
      });
    };
    tryBackend(backends.length);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}
