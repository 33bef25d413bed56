// /_keel/metrics text over fake services, in plain Node: valid exposition with HELP and TYPE
// on every family, histograms ordered per class with the sum in seconds, sync lag.
import { describe, expect, it } from "vitest";
import { metricsText } from "../src/metrics.ts";
import type { Counter, Services } from "../src/services.ts";

function fakeServices(counters: Counter[], sync?: unknown): Services {
  return {
    admin: {
      usage: () => ({ usedBytes: 10, maxBytes: 0, keys: 1, topics: 0, kvBytes: 10, logBytes: 0, maxValueBytes: 1, eviction: "oldest" }),
      counters: () => counters,
    },
    limiter: { counters: () => [{ name: "keel_ratelimit_read_allowed_total", value: 3 }, { name: "keel_ratelimit_read_limited_total", value: 0 }] },
    sync: sync === undefined ? undefined : { status: () => sync },
  } as unknown as Services;
}

// As storage lists them: one-file counters, then the series sorted by name.
const H = "keel_http_request_duration_seconds";
const stored: Counter[] = [
  { name: "keel_storage_compactions_total", value: 2 },
  { name: 'keel_component_instantiations_total{component="gateway"}', value: 1 },
  { name: 'keel_http_errors_total{class="read",error="not_found"}', value: 1 },
  { name: 'keel_http_request_duration_microseconds_sum{class="read"}', value: 2300 },
  ...["+Inf", "0.0005", "0.001", "0.0025", "5"].map((le, i) => ({ name: `${H}_bucket{class="read",le="${le}"}`, value: [2, 1, 1, 2, 2][i] })),
  { name: `${H}_count{class="read"}`, value: 2 },
  { name: 'keel_http_requests_total{class="read",status="200"}', value: 1 },
  { name: 'keel_http_requests_total{class="read",status="404"}', value: 1 },
  { name: "keel_made_up_total", value: 1 },
];
const text = metricsText(fakeServices(stored, { enabled: true, paused: false, last_sync_ms: 5, lags: [{ name: "@outbox", records: 3, oldest_seconds: 12 }, { name: "t", records: 0, oldest_seconds: 40 }], sealed_refused: { wrong_key: 2, tampered: 0, unknown_key: 0, not_sealed: 1 } }));
const lines = text.trimEnd().split("\n");

describe("/_keel/metrics text", () => {
  it("has HELP and TYPE for every family, once, before its samples", () => {
    const declared = new Map<string, string>();
    const helped = new Set<string>();
    for (const l of lines) {
      let x: RegExpExecArray | null;
      if ((x = /^# HELP (\S+) \S/.exec(l))) {
        expect(helped.has(x[1]), `HELP twice for ${x[1]}`).toBe(false);
        helped.add(x[1]);
      } else if ((x = /^# TYPE (\S+) (counter|gauge|histogram)$/.exec(l))) {
        expect(declared.has(x[1]), `TYPE twice for ${x[1]}`).toBe(false);
        declared.set(x[1], x[2]);
      } else {
        const name = /^([a-z_]+)/.exec(l)![1];
        const family = declared.get(name) ? name : name.replace(/_(bucket|sum|count)$/, "");
        expect(declared.has(family) && helped.has(family), `HELP and TYPE for ${l}`).toBe(true);
        expect(l).toMatch(/^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+-]+$/);
      }
    }
    expect(declared.get(H)).toBe("histogram");
    expect(declared.get("keel_http_requests_total")).toBe("counter");
    expect(declared.get("keel_made_up_total")).toBe("counter");
    expect(text).toMatch(/# HELP keel_ratelimit_read_limited_total ratelimit read limited\.\n/);
  });

  it("a histogram per class: buckets by le ascending, +Inf last, then the sum in seconds and the count", () => {
    const at = lines.findIndex((l) => l.startsWith(`${H}_bucket`));
    expect(lines.slice(at, at + 7)).toEqual([
      `${H}_bucket{class="read",le="0.0005"} 1`,
      `${H}_bucket{class="read",le="0.001"} 1`,
      `${H}_bucket{class="read",le="0.0025"} 2`,
      `${H}_bucket{class="read",le="5"} 2`,
      `${H}_bucket{class="read",le="+Inf"} 2`,
      `${H}_sum{class="read"} 0.0023`,
      `${H}_count{class="read"} 2`,
    ]);
  });

  it("errors by code, and sync lag as the oldest record waiting in any queue", () => {
    expect(text).toMatch(/\nkeel_http_errors_total\{class="read",error="not_found"\} 1\n/);
    expect(text).toMatch(/\nkeel_sync_lag_seconds 12\n/);
    expect(text).toMatch(/\nkeel_sync_queue_records\{name="@outbox"\} 3\n/);
    expect(text).toMatch(/\n# TYPE keel_sync_sealed_refused_total counter\nkeel_sync_sealed_refused_total\{reason="wrong_key"\} 2\n(.+\n){2}keel_sync_sealed_refused_total\{reason="not_sealed"\} 1\n/);
  });
});
