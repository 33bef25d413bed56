// /_keel/metrics: Prometheus text exposition of storage usage, durable counters, sync lag and
// the mesh.
import type { Services } from "./services.ts";

export function metricsText(svc: Services): string {
  const u = svc.admin.usage();
  const lines: string[] = [];
  const gauge = (name: string, help: string, v: number) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${v}`);
  gauge("keel_storage_used_bytes", "Bytes of keys and logs on disk.", u.usedBytes);
  gauge("keel_storage_max_bytes", "Configured storage limit in bytes (0 = unlimited).", u.maxBytes);
  gauge("keel_storage_keys", "Live keys.", u.keys);
  gauge("keel_storage_topics", "Topics.", u.topics);
  for (const c of [...svc.admin.counters(), ...svc.limiter.counters()]) lines.push(`# TYPE ${c.name} counter`, `${c.name} ${c.value}`);
  const sync = (svc.sync?.status() ?? {}) as { enabled?: boolean; paused?: boolean; last_sync_ms?: number; lags?: { name: string; records: number; oldest_seconds: number }[] };
  if (sync.enabled) {
    lines.push("# HELP keel_sync_queue_records Records waiting to sync.", "# TYPE keel_sync_queue_records gauge");
    for (const l of sync.lags ?? []) lines.push(`keel_sync_queue_records{name="${l.name}"} ${l.records}`);
    lines.push("# HELP keel_sync_queue_oldest_seconds Age of the oldest waiting record.", "# TYPE keel_sync_queue_oldest_seconds gauge");
    for (const l of sync.lags ?? []) lines.push(`keel_sync_queue_oldest_seconds{name="${l.name}"} ${l.oldest_seconds}`);
    gauge("keel_sync_paused", "1 while sync is paused.", sync.paused ? 1 : 0);
    gauge("keel_sync_last_success_ms", "Epoch ms of the last successful sync (0: never).", sync.last_sync_ms ?? 0);
  }
  if (svc.mesh) meshMetrics(svc, lines);
  return lines.join("\n") + "\n";
}

/** Mesh state: peers by state, rounds, bytes, repairs, and per-peer lag. */
function meshMetrics(svc: Services, lines: string[]): void {
  let m;
  try {
    m = svc.mesh!.status(svc.nowMs());
  } catch {
    return; // a metrics scrape never fails over the mesh
  }
  if (!m.enabled) return;
  const family = (name: string, type: "gauge" | "counter", help: string, samples: [string, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) lines.push(`${name}${labels} ${v}`);
  };
  const states = ["alive", "suspect", "dead"] as const;
  family("keel_mesh_peers", "gauge", "Known mesh peers by failure-detector state.", states.map((s) => [`{state="${s}"}`, m.peers.filter((p) => p.state === s).length]));
  family("keel_mesh_rounds_total", "counter", "Gossip rounds this node started.", [["", m.rounds]]);
  family("keel_mesh_served_total", "counter", "Gossip exchanges other nodes started here.", [["", m.served]]);
  family("keel_mesh_failed_exchanges_total", "counter", "Exchanges with a peer that failed.", [["", m.failed]]);
  family("keel_mesh_bytes_total", "counter", "Gossip message bytes.", [['{direction="sent"}', m.bytesSent], ['{direction="received"}', m.bytesReceived]]);
  family("keel_mesh_repaired_total", "counter", "Key versions and topic records taken from peers.", [["", m.repaired]]);
  family("keel_mesh_lag", "gauge", "Changes this node has that a peer has not confirmed, per scope.", m.lags.map((l) => [`{peer="${l.peer}",scope="${l.scope}"}`, l.behind]));
}
