// /_keel/metrics: Prometheus text exposition of storage usage, durable counters and sync lag.
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
  return lines.join("\n") + "\n";
}
