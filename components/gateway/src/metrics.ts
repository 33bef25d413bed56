// /_keel/metrics: Prometheus text exposition (0.0.4), HELP and TYPE on every family: storage
// usage, the durable counters (storage events, the gateway's request counts and latency
// histogram, rate-limit decisions, the token cache), sync lag and the mesh. The Node host appends what
// only it knows (host/src/host-metrics.ts). NOTE: kept terse — every byte of JS here is ~10
// bytes of the QuickJS snapshot in composed.wasm; README § Metrics says what each family means.
import type { Counter, Services } from "./services.ts";

// Storage folds the request counts into these series (components/storage/src/request-log.ts).
const DURATION = "keel_http_request_duration_seconds";
const DURATION_SUM_MICROS = "keel_http_request_duration_microseconds_sum";

/** Help of the families whose name does not say enough; others: their name in words. */
const HELP: Record<string, string> = {
  keel_http_requests_total: "Requests by route class (none: refused before routing) and status.",
  keel_http_errors_total: "Responses with status >= 400 by route class and error code.",
  [DURATION]: "Seconds from routing a request to its response, by route class.",
  keel_component_instantiations_total: "Gateway instantiations (wasmtime serve: the whole composition).",
};

export function metricsText(svc: Services): string {
  const u = svc.admin.usage();
  const out: string[] = [];
  const head = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  const gauge = (name: string, help: string, v: number) => {
    head(name, "gauge", help);
    out.push(`${name} ${v}`);
  };
  gauge("keel_storage_used_bytes", "Bytes of keys and logs on disk.", u.usedBytes);
  gauge("keel_storage_max_bytes", "Configured storage limit in bytes (0 = unlimited).", u.maxBytes);
  gauge("keel_storage_keys", "Live keys.", u.keys);
  gauge("keel_storage_topics", "Topics.", u.topics);
  // Series of a family together under one HELP and TYPE; a histogram per class as buckets
  // (ascending; storage lists them by name), sum (kept in µs) and count.
  const families = new Map<string, Counter[]>();
  for (const c of [...svc.admin.counters(), ...svc.limiter.counters()]) {
    let f = c.name.split("{")[0];
    if (f === DURATION_SUM_MICROS || f.startsWith(DURATION)) f = DURATION;
    families.get(f)?.push(c) ?? families.set(f, [c]);
  }
  for (const [f, series] of families) {
    const histogram = f === DURATION;
    head(f, histogram ? "histogram" : "counter", HELP[f] ?? `${f.slice(5).replace(/_total$/, "").replace(/_/g, " ")}.`);
    if (histogram) {
      const le = (c: Counter) => (c.name.includes("+Inf") ? 1e8 : Number(/le="([^"]+)/.exec(c.name)?.[1]));
      const part = (c: Counter) => (c.name.includes("_bucket") ? le(c) : c.name.includes("_sum") ? 1e9 : 2e9);
      const cls = (c: Counter) => /class="([^"]*)/.exec(c.name)?.[1] ?? "";
      series.sort((a, b) => (cls(a) < cls(b) ? -1 : cls(a) > cls(b) ? 1 : part(a) - part(b)));
    }
    for (const c of series) out.push(c.name.startsWith(DURATION_SUM_MICROS) ? `${DURATION}_sum${c.name.slice(DURATION_SUM_MICROS.length)} ${c.value / 1e6}` : `${c.name} ${c.value}`);
  }
  const sync = (svc.sync?.status() ?? {}) as { enabled?: boolean; paused?: boolean; last_sync_ms?: number; lags?: { name: string; records: number; oldest_seconds: number }[]; sealed_refused?: Record<string, number> };
  if (sync.enabled) {
    const lags = sync.lags ?? [];
    head("keel_sync_queue_records", "gauge", "Records waiting to sync.");
    for (const l of lags) out.push(`keel_sync_queue_records{name="${l.name}"} ${l.records}`);
    head("keel_sync_queue_oldest_seconds", "gauge", "Age of the oldest waiting record.");
    for (const l of lags) out.push(`keel_sync_queue_oldest_seconds{name="${l.name}"} ${l.oldest_seconds}`);
    gauge("keel_sync_lag_seconds", "Age of the oldest record not yet synced, any queue.", Math.max(0, ...lags.map((l) => (l.records ? l.oldest_seconds : 0))));
    gauge("keel_sync_paused", "1 while sync is paused.", sync.paused ? 1 : 0);
    gauge("keel_sync_last_success_ms", "Epoch ms of the last successful sync (0: never).", sync.last_sync_ms ?? 0);
    head("keel_sync_sealed_refused_total", "counter", "Sealed records refused (end-to-end topics), by reason.");
    for (const [k, v] of Object.entries(sync.sealed_refused ?? {})) out.push(`keel_sync_sealed_refused_total{reason="${k}"} ${v}`);
  }
  if (svc.mesh) meshMetrics(svc, out);
  return out.join("\n") + "\n";
}

/** Mesh state: peers by state, rounds, bytes, repairs, and per-peer lag. */
function meshMetrics(svc: Services, out: string[]): void {
  let m;
  try {
    m = svc.mesh!.status(svc.nowMs());
  } catch {
    return; // a metrics scrape never fails over the mesh
  }
  if (!m.enabled) return;
  const family = (name: string, type: "gauge" | "counter", help: string, samples: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) out.push(`${name}${labels} ${v}`);
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
