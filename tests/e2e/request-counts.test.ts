// Request counts left by an earlier run (metrics/live.d, storage's request-log.ts) on both hosts:
// wasmtime serve's instances are short-lived (bounded reuse, dropped when idle), so an instance's first request folds
// stale files; the Node host keeps its instance for the process's life (it passes
// KEEL_INSTANCE_LIFETIME=process), so its first request does not — and /_keel/metrics counts
// the earlier run's requests exactly on both.
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { adminHeaders, startNode, tempDataDir, type RunningNode } from "../helpers/nodes.ts";

describe.each([["wasmtime serve", "wasmtime"], ["the Node host", "node"]] as const)("request counts from an earlier run on %s", (_label, kind) => {
  let node: RunningNode | undefined;
  afterEach(async () => {
    await node?.stop();
    node = undefined;
  });

  it(`are ${kind === "node" ? "not folded by the first request" : "folded by an instance's first request"}, and counted exactly`, async () => {
    const dataDir = tempDataDir(`request-counts-${kind}`);
    const live = path.join(dataDir, "metrics", "live.d");
    fs.mkdirSync(live, { recursive: true });
    // Three reads an instance of an earlier run counted and never folded, a minute ago.
    const old = path.join(live, "earlier-run");
    fs.writeFileSync(old, "R\tread\t200\t120\t\t-\n".repeat(3));
    const series = path.join(dataDir, "metrics", "series.json");
    fs.writeFileSync(series, "{}");
    const minuteAgo = new Date(Date.now() - 60_000);
    for (const f of [old, series]) fs.utimesSync(f, minuteAgo, minuteAgo);

    node = await startNode(kind, { dataDir });
    const put = await fetch(`${node.url}/v1/kv/counted`, { method: "PUT", body: "v" });
    expect(put.status).toBe(200);
    expect(fs.existsSync(old)).toBe(kind === "node");

    const metrics = await (await fetch(`${node.url}/_keel/metrics`, { headers: adminHeaders(node) })).text();
    // The earlier run's three reads (health checks are not counted by class).
    expect(Number(/^keel_http_requests_total\{class="read",status="200"\} (\d+)$/m.exec(metrics)?.[1])).toBe(3);
    expect(Number(/^keel_http_requests_total\{class="write",status="200"\} (\d+)$/m.exec(metrics)?.[1])).toBe(1);
    expect(fs.existsSync(old)).toBe(false); // a read of the counters folds everything stale
  });
});
