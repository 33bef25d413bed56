// Randomness that must differ between instances. QuickJS's Math.random is part of each
// component's pre-initialised snapshot, so every fresh instance draws the same sequence: with a
// fresh instance per request, trace sampling picked every request or none, trace ids began
// alike, and two instances started in the same millisecond named their request-count files alike
// (and overwrote each other's counts). These come from wasi:random now.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configVariant, startNode, UNLIMITED, type RunningNode } from "../helpers/nodes.ts";

describe("randomness per instance (wasmtime serve, a fresh instance per request)", () => {
  let node: RunningNode;
  beforeAll(async () => {
    node = await startNode("wasmtime", {
      reuse: 1,
      env: { KEEL_CONFIG: configVariant({ ...UNLIMITED, observability: { log: "info", log_format: "json", trace_sampling: 0.5 } }) },
    });
  });
  afterAll(() => node?.stop());

  it("samples about half the requests at trace_sampling 0.5, each with its own trace id", async () => {
    const before = node.output().length;
    for (let i = 0; i < 60; i++) expect((await fetch(`${node.url}/v1/kv/sampled-${i}`)).status).toBe(404);
    const traces = node.output().slice(before).split("\n").filter((l) => l.includes('"msg":"request"')).map((l) => JSON.parse(l.slice(l.indexOf("{"))) as { trace_id: string });
    // Binomial(60, 0.5) falls outside 10..50 about once in 10^7 runs; the same draw in every
    // instance gives 0 or 60.
    expect(traces.length).toBeGreaterThanOrEqual(10);
    expect(traces.length).toBeLessThanOrEqual(50);
    expect(new Set(traces.map((t) => t.trace_id.slice(0, 16))).size).toBe(traces.length);
  });

  it("names each instance's request-count file differently", async () => {
    await Promise.all(Array.from({ length: 30 }, (_, i) => fetch(`${node.url}/v1/kv/named-${i}`, { method: "PUT", body: "v" }).then((r) => r.text())));
    const live = fs.readdirSync(path.join(node.dataDir, "metrics", "live.d"));
    const suffixes = live.map((n) => n.slice(n.indexOf("-") + 1));
    expect(live.length).toBeGreaterThan(10);
    expect(new Set(suffixes).size).toBe(live.length);
  });
});
