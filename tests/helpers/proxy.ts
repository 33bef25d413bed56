// A fault-injecting TCP proxy on loopback for sync tests: sits between an edge and the cloud
// and, per connection, passes traffic, drops the connection, delays it, resets it half-way
// through the request, or lets the request through and cuts the response (the cloud did the
// work; the edge never hears) — the case that duplicates data if a protocol is not idempotent.
import net from "node:net";

export type Fault = "pass" | "drop" | "delay" | "reset-mid-request" | "drop-response";

export interface FaultProxy {
  url: string;
  /** Faults applied to the next connections, in order; then `pass`. */
  plan(faults: Fault[]): void;
  seen: Fault[];
  /** Partition: while cut, every connection (open or new) is dropped. */
  cut(on: boolean): void;
  close(): Promise<void>;
}

export async function startProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  let queue: Fault[] = [];
  const seen: Fault[] = [];
  const sockets = new Set<net.Socket>();
  let isCut = false;
  const server = net.createServer((client) => {
    if (isCut) {
      client.destroy();
      return;
    }
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => {});
    const fault = queue.shift() ?? "pass";
    seen.push(fault);
    if (fault === "drop") {
      client.destroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    let sent = 0;
    client.on("data", (chunk) => {
      if (fault === "reset-mid-request") {
        const keep = Math.max(1, Math.floor(chunk.length / 2));
        if (sent === 0) upstream.write(chunk.subarray(0, keep));
        sent += keep;
        setTimeout(() => {
          client.destroy();
          upstream.destroy();
        }, 20);
        return;
      }
      if (fault === "delay") setTimeout(() => upstream.write(chunk), 300);
      else upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      if (fault === "drop-response") {
        // The cloud answered: it has the batch. The edge never sees the answer.
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    plan: (faults) => {
      queue = [...faults];
    },
    seen,
    cut: (on) => {
      isCut = on;
      if (on) for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
