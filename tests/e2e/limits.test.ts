// [storage] limits through HTTP on wasmtime serve: eviction makes room by policy and says so
// in /_keel/resources and /_keel/metrics; the compact policy refuses with 507 instead.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders, configVariant, startNode, UNLIMITED, type RunningNode } from "../helpers/nodes.ts";

const storage = (eviction: string) => ({ max_bytes: 120_000, max_value_bytes: 8192, eviction, segment_bytes: 16384 });

describe("storage limits: oldest eviction", () => {
  let node: RunningNode;
  beforeAll(async () => {
    node = await startNode("wasmtime", { env: { KEEL_CONFIG: configVariant({ ...UNLIMITED, storage: storage("oldest") }) } });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it("keeps usage near max_bytes by evicting the oldest keys, and reports it", async () => {
    for (let i = 0; i < 60; i++) {
      const r = await fetch(`${node.url}/v1/kv/k${String(i).padStart(3, "0")}`, { method: "PUT", body: "v".repeat(5000) });
      expect(r.status).toBe(200);
      if (i % 20 === 19) await new Promise((res) => setTimeout(res, 1100)); // let the usage cache expire
    }
    const res = (await (await fetch(`${node.url}/_keel/resources`, { headers: adminHeaders(node) })).json()) as { used_bytes: number; max_bytes: number };
    expect(res.max_bytes).toBe(120_000);
    // Soft limit: at most what one second of writes adds on top (here 20 × ~5 KB).
    expect(res.used_bytes).toBeLessThanOrEqual(120_000 + 20 * 5200);
    expect((await fetch(`${node.url}/v1/kv/k000`)).status).toBe(404);
    expect((await fetch(`${node.url}/v1/kv/k059`)).status).toBe(200);
    const m = await (await fetch(`${node.url}/_keel/metrics`, { headers: adminHeaders(node) })).text();
    expect(Number(/^keel_storage_evicted_keys_total (\d+)$/m.exec(m)?.[1])).toBeGreaterThan(0);
  });

  it("a value over max_value_bytes is 413 and stores nothing", async () => {
    const r = await fetch(`${node.url}/v1/kv/big`, { method: "PUT", body: "x".repeat(8193) });
    expect(r.status).toBe(413);
    expect((await fetch(`${node.url}/v1/kv/big`)).status).toBe(404);
  });
});

describe("storage limits: compact policy never evicts", () => {
  let node: RunningNode;
  beforeAll(async () => {
    node = await startNode("wasmtime", { env: { KEEL_CONFIG: configVariant({ ...UNLIMITED, storage: storage("compact") }) } });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it("refuses writes past the limit with 507 and keeps what it has", async () => {
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      const r = await fetch(`${node.url}/v1/kv/c${i}`, { method: "PUT", body: "v".repeat(5000) });
      if (r.status === 507) {
        refused++;
        expect(((await r.json()) as { error: string }).error).toBe("storage_full");
      } else expect(r.status).toBe(200);
      await new Promise((res) => setTimeout(res, 60));
    }
    expect(refused).toBeGreaterThan(0);
    expect((await fetch(`${node.url}/v1/kv/c0`)).status).toBe(200);
  });
});

// Under a limit, usage is recounted (a listing of the data dir) while other instances create
// and remove lock and temp files; an entry that vanished mid-listing once escaped as a bare
// WASI error code and trapped the request (500, instance lost).
describe("storage limits: many writers while usage is recounted", () => {
  let node: RunningNode;
  beforeAll(async () => {
    node = await startNode("wasmtime", { env: { KEEL_CONFIG: configVariant({ ...UNLIMITED, storage: { max_bytes: 1_000_000_000 } }) } });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it("16 writers of a few keys for 3 s over 2,000 keys: every PUT answers 200 and nothing traps", async () => {
    // 2,000 keys first, so each recount's listing takes long enough for others to race it.
    for (let i = 0; i < 2000; i += 16) {
      await Promise.all(Array.from({ length: 16 }, (_, k) => fetch(`${node.url}/v1/kv/fill-${i + k}`, { method: "PUT", body: "x" }).then((r) => r.arrayBuffer())));
    }
    const end = Date.now() + 3000;
    const statuses = new Map<number, number>();
    await Promise.all(Array.from({ length: 16 }, async (_, w) => {
      for (let i = 0; Date.now() < end; i++) {
        const r = await fetch(`${node.url}/v1/kv/hot-${(w + i) % 3}`, { method: "PUT", body: `w${w}-${i}` });
        await r.arrayBuffer();
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      }
    }));
    expect([...statuses.keys()]).toEqual([200]);
    expect(statuses.get(200)).toBeGreaterThan(100);
    expect(node.output()).not.toMatch(/panicked|never invoked|wasm trap/);
  });
});
