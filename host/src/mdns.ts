// mDNS discovery of mesh peers (`[mesh] discovery = "mdns"`), Node host only: publish this node
// as a `_keel._tcp` service (TXT: node id, cluster, URL) and join every node of the same
// cluster the browser finds. bonjour-service does the DNS-SD work (pure JS, maintained).
// wasmtime serve has no sockets for this; its nodes use static peers.
import { Bonjour, type Service } from "bonjour-service";
import type { Host } from "./host.ts";
import type { EdgeConfig } from "./config.ts";
import { membershipOf } from "./mesh-timer.ts";
import { log } from "./log.ts";

export interface Discovery {
  stop(): void;
}

/** The peer URL a found service stands for: its advertised URL, else its first IPv4 address. */
export function urlOf(s: Pick<Service, "txt" | "addresses" | "port">): string | undefined {
  const txt = (s.txt ?? {}) as Record<string, unknown>;
  if (typeof txt.url === "string" && /^https?:\/\//.test(txt.url)) return txt.url;
  const v4 = s.addresses?.find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));
  return v4 ? `http://${v4}:${s.port}` : undefined;
}

export function startDiscovery(host: Host, config: EdgeConfig, port: number): Discovery | undefined {
  const m = config.raw.mesh;
  if (!m.enabled || m.discovery !== "mdns") return undefined;
  const id = config.node.id;
  const bonjour = new Bonjour({}, (e: Error) => log("warn", "mdns error", { error: e.message }));
  const txt: Record<string, string> = { id, cluster: m.cluster };
  if (m.url) txt.url = m.url;
  bonjour.publish({ name: `keel-${id}`, type: "keel", port, txt });
  const known = new Map<string, string>();
  const browser = bonjour.find({ type: "keel" }, (s) => {
    const t = (s.txt ?? {}) as Record<string, unknown>;
    const url = urlOf(s);
    if (typeof t.id !== "string" || t.id === id || t.cluster !== m.cluster || !url || known.get(t.id) === url) return;
    try {
      membershipOf(host).join(t.id, url, "discovered", BigInt(Date.now()));
      known.set(t.id, url);
      log("info", "mesh peer discovered", { peer: t.id, url });
    } catch (e) {
      log("warn", "discovered peer not joined", { peer: t.id, error: (e as { payload?: { val?: string } }).payload?.val ?? String(e) });
    }
  });
  // Ask again now and then: a peer that came up while a query was unanswered is found next time.
  const again = setInterval(() => browser.update(), 5000);
  log("info", "mdns discovery started", { cluster: m.cluster, service: `keel-${id}` });
  return {
    stop() {
      clearInterval(again);
      browser.stop();
      bonjour.unpublishAll();
      bonjour.destroy();
    },
  };
}
