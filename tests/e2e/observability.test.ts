// /_keel/metrics and [observability] on both hosts: request counts by route class and status,
// latency histograms and error codes that add up across wasmtime serve's instances, HELP and
// TYPE on every family, the Node host's memory, and log level, format and trace sampling.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders, configVariant, startNode, type HostKind, type RunningNode } from "../helpers/nodes.ts";

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

async function scrape(node: RunningNode): Promise<string> {
  const r = await fetch(`${node.url}/_keel/metrics`, { headers: adminHeaders(node) });
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toMatch(/^text\/plain/);
  return r.text();
}

const value = (text: string, series: string) => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

/** Every sample belongs to a family declared once with HELP and TYPE before it. */
function checkExposition(text: string): void {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  for (const l of text.trimEnd().split("\n")) {
    let m: RegExpExecArray | null;
    if ((m = /^# HELP (\S+) \S/.exec(l))) {
      expect(helps.has(m[1]), `second HELP for ${m[1]}`).toBe(false);
      helps.add(m[1]);
    } else if ((m = /^# TYPE (\S+) (counter|gauge|histogram)$/.exec(l))) {
      expect(types.has(m[1]), `second TYPE for ${m[1]}`).toBe(false);
      types.set(m[1], m[2]);
    } else {
      expect(l, "sample line").toMatch(/^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$/);
      const name = l.split(/[{ ]/)[0];
      const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, "");
      expect(types.has(family) && helps.has(family), `HELP and TYPE for ${l}`).toBe(true);
    }
  }
}

describe.each<[string, HostKind, number | undefined]>([
  ["wasmtime serve, fresh instance per request", "wasmtime", 1],
  ["wasmtime serve, reused instances", "wasmtime", undefined],
  ["Node host", "node", undefined],
])("metrics on %s", (_label, kind, reuse) => {
  let node: RunningNode;
  beforeAll(async () => {
    node = await startNode(kind, { reuse, env: { KEEL_CONFIG: configVariant({ rate_limit: { enabled: false }, observability: { log: "info", log_format: "compact", trace_sampling: 1 } }) } });
    for (let i = 0; i < 5; i++) expect((await fetch(`${node.url}/v1/kv/m${i}`, { method: "PUT", body: "v" })).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await fetch(`${node.url}/v1/kv/absent${i}`, { headers: { traceparent: TRACEPARENT } })).status).toBe(404);
    expect((await fetch(`${node.url}/_keel/resources`)).status).toBe(401);
    expect((await fetch(`${node.url}/nowhere`)).status).toBe(404);
    expect((await fetch(`${node.url}/_keel/health`)).status).toBe(200);
  });
  afterAll(async () => {
    await node?.stop();
  });

  it("counts requests by route class and status, and errors by code", async () => {
    const text = await scrape(node);
    checkExposition(text);
    expect(value(text, 'keel_http_requests_total{class="write",status="200"}')).toBe(5);
    expect(value(text, 'keel_http_requests_total{class="read",status="404"}')).toBe(3);
    expect(value(text, 'keel_http_requests_total{class="admin",status="401"}')).toBe(1);
    expect(value(text, 'keel_http_requests_total{class="none",status="404"}')).toBe(1);
    expect(value(text, 'keel_http_requests_total{class="health",status="200"}')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'keel_http_errors_total{class="read",error="not_found"}')).toBe(3);
    expect(value(text, 'keel_http_errors_total{class="admin",error="unauthenticated"}')).toBe(1);
  });

  it("a latency histogram per route class: cumulative, +Inf = count, a sum in seconds", async () => {
    const text = await scrape(node);
    expect(text).toMatch(/# TYPE keel_http_request_duration_seconds histogram/);
    const buckets = text.split("\n").filter((l) => l.startsWith('keel_http_request_duration_seconds_bucket{class="write"')).map((l) => Number(l.split(" ")[1]));
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    expect(value(text, 'keel_http_request_duration_seconds_bucket{class="write",le="+Inf"}')).toBe(5);
    expect(value(text, 'keel_http_request_duration_seconds_count{class="write"}')).toBe(5);
    const sum = value(text, 'keel_http_request_duration_seconds_sum{class="write"}')!;
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(5 * 5);
  });

  it("instantiations and the token cache", async () => {
    // The same token a few times: verified once per instance, then found in its cache.
    const headers = adminHeaders(node);
    for (let i = 0; i < 4; i++) await fetch(`${node.url}/_keel/resources`, { headers });
    const text = await scrape(node);
    const inst = value(text, 'keel_component_instantiations_total{component="gateway"}')!;
    if (reuse === 1) expect(inst).toBeGreaterThanOrEqual(10);
    else expect(inst).toBeLessThanOrEqual(kind === "node" ? 1 : 4);
    expect(value(text, "keel_auth_token_cache_misses_total")).toBeGreaterThanOrEqual(1);
    if (reuse !== 1) expect(value(text, "keel_auth_token_cache_hits_total")).toBeGreaterThanOrEqual(1);
  });

  it("memory and component instantiations where the host knows them", async () => {
    const text = await scrape(node);
    if (kind === "node") {
      expect(value(text, "keel_host_resident_memory_bytes")).toBeGreaterThan(20e6);
      expect(value(text, "keel_host_external_memory_bytes")).toBeGreaterThan(1e6);
      expect(value(text, 'keel_host_component_instantiations_total{component="gateway"}')).toBe(1);
    } else {
      expect(text).not.toMatch(/keel_host_/);
    }
  });

  it("trace lines in the compact format, every request sampled, with the traceparent's trace id", () => {
    const lines = node.output().split("\n").filter((l) => / INFO request /.test(l));
    expect(lines.length).toBeGreaterThanOrEqual(11);
    const traced = lines.filter((l) => l.includes("status=404") && l.includes("class=read"));
    expect(traced).toHaveLength(3);
    expect(traced[0]).toMatch(/\d{4}-\d\d-\d\dT[\d:.]+Z INFO request component=gateway node=\S+ method=GET path=\/v1\/kv\/absent\d class=read status=404 ms=[\d.]+ error=not_found trace_id=4bf92f3577b34da6a3ce929d0e0e4736/);
    expect(lines.find((l) => l.includes("method=PUT"))).toMatch(/trace_id=[0-9a-f]{32}$/);
    if (kind === "node") expect(node.output()).toMatch(/Z INFO keel node listening addr=http/);
  });
});

describe("wasmtime serve keeps an idle instance for the next request ([wasmtime] idle_instance_seconds)", () => {
  // wasmtime's own default drops an instance idle for 1 s: a client that comes every few
  // seconds would get a fresh one each time (scripts/serve.ts DEFAULT_IDLE_INSTANCE_SECONDS).
  // NOTE: a request right after another may find that instance still finishing (the gateway
  // returns after the response is out) and get a new one, so the count is taken before and
  // after the pauses, each time a moment after the last request.
  it.each<[string, number | undefined, (before: number, after: number) => void]>([
    ["the default (60 s): no new instance for requests 1.5 s apart", undefined, (before, after) => expect(after).toBe(before)],
    ["idle_instance_seconds = 1: a fresh instance after each pause", 1, (before, after) => expect(after).toBeGreaterThanOrEqual(before + 2)],
  ])("%s", async (_label, seconds, check) => {
    const node = await startNode("wasmtime", { env: { KEEL_CONFIG: configVariant({ rate_limit: { enabled: false }, ...(seconds ? { wasmtime: { idle_instance_seconds: seconds } } : {}) }) } });
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const instantiations = async () => {
      await pause(200);
      const n = value(await scrape(node), 'keel_component_instantiations_total{component="gateway"}')!;
      await pause(200);
      return n;
    };
    try {
      await pause(200);
      expect((await fetch(`${node.url}/v1/kv/idle`, { method: "PUT", body: "v" })).status).toBe(200);
      const before = await instantiations();
      for (let i = 0; i < 2; i++) {
        await pause(1_500);
        expect((await fetch(`${node.url}/v1/kv/idle`)).status).toBe(200);
      }
      check(before, await instantiations());
    } finally {
      await node.stop();
    }
  });
});

describe("log level", () => {
  it.each<HostKind>(["wasmtime", "node"])("warn on the %s host: no info lines, no sampled traces, JSON", async (kind) => {
    const node = await startNode(kind, { env: { KEEL_CONFIG: configVariant({ observability: { log: "warn", log_format: "json", trace_sampling: 1 } }) } });
    try {
      await fetch(`${node.url}/v1/kv/x`, { method: "PUT", body: "1" });
      await fetch(`${node.url}/v1/kv/x`);
      await new Promise((r) => setTimeout(r, 200));
      const out = node.output();
      expect(out).not.toMatch(/"msg":"request"/);
      expect(out).not.toMatch(/"level":"info"/);
    } finally {
      await node.stop();
    }
  });
});
