// Rate limits hold across instances: under concurrent load against wasmtime serve (a fresh
// instance per request, and reused instances) the admitted count stays within
// burst + rate × elapsed (+1%), refusals are 429 with Retry-After, and decisions are counted.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders, configVariant, startNode, type HostKind, type RunningNode } from "../helpers/nodes.ts";

const config = (rate: number, burst: number) => configVariant({
  rate_limit: {
    enabled: true,
    trust_forwarded_for: true,
    rules: { write: { rate, burst, key: "ip" }, admin: { rate: 1000, burst: 1000, key: "subject" } },
  },
});

// [label, host, requests per instance, rate, burst]. The Node host serves far fewer requests a
// second under a loaded test run, so its limit is lower: the load must exceed it to test it.
const variants: [string, HostKind, number | undefined, number, number][] = [
  ["wasmtime serve, fresh instance per request", "wasmtime", 1, 20, 10],
  ["wasmtime serve, reused instances", "wasmtime", undefined, 20, 10],
  // A burst big enough that instances take leases of 6 requests and spend them from memory,
  // and a rate the load exceeds even on a busy machine.
  ["wasmtime serve, reused instances, leased", "wasmtime", undefined, 24, 64],
  ["Node host", "node", undefined, 3, 3],
];

describe.each(variants)("rate limits: %s", (_label, kind, reuse, RATE, BURST) => {
  let node: RunningNode;
  beforeAll(async () => {
    node = await startNode(kind, { reuse, env: { KEEL_CONFIG: config(RATE, BURST) } });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it("admitted ≤ burst + rate × elapsed (+1%) under concurrent load, one client", async () => {
    let admitted = 0;
    let limited = 0;
    const start = performance.now();
    const until = start + 2500;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (performance.now() < until) {
          const r = await fetch(`${node.url}/v1/kv/rl`, { method: "PUT", body: "x", headers: { "x-forwarded-for": "192.0.2.7" } });
          await r.arrayBuffer();
          if (r.status === 200) admitted++;
          else {
            expect(r.status).toBe(429);
            expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
            expect(r.headers.get("ratelimit-limit")).toBe(String(BURST));
            expect(r.headers.get("ratelimit-remaining")).toBe("0");
            limited++;
          }
        }
      }),
    );
    const elapsed = (performance.now() - start) / 1000;
    const bound = (BURST + RATE * elapsed) * 1.01;
    console.log(`rate limit (${_label}): ${admitted} admitted, ${limited} limited in ${elapsed.toFixed(2)} s; bound ${bound.toFixed(1)}`);
    expect(admitted).toBeLessThanOrEqual(bound);
    expect(admitted).toBeGreaterThanOrEqual(BURST);
    expect(limited).toBeGreaterThan(0);
  });

  it("another client has its own allowance, and decisions are in /_keel/metrics", async () => {
    const r = await fetch(`${node.url}/v1/kv/rl`, { method: "PUT", body: "x", headers: { "x-forwarded-for": "198.51.100.9" } });
    expect(r.status).toBe(200);
    expect(Number(r.headers.get("ratelimit-remaining"))).toBe(BURST - 1);
    const m = await (await fetch(`${node.url}/_keel/metrics`, { headers: adminHeaders(node) })).text();
    expect(Number(/^keel_ratelimit_write_limited_total (\d+)$/m.exec(m)?.[1])).toBeGreaterThan(0);
    expect(Number(/^keel_ratelimit_write_allowed_total (\d+)$/m.exec(m)?.[1])).toBeGreaterThanOrEqual(BURST + 1);
  });
});
