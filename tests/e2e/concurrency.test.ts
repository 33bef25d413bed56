// Many requests at once on one data dir: wasmtime serve runs each in its own instance (or
// reuses instances, one request at a time each); they share nothing but files. Nothing may be
// lost, duplicated or interleaved, and readers only ever see whole values.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HostKind, type RunningNode, UNLIMITED, configVariant, startNode } from "../helpers/nodes.ts";

// Load tests run without rate limits (they are tested on their own in rate-limit.test.ts).
const CONFIG = configVariant(UNLIMITED);

const variants: [string, HostKind, number | undefined][] = [
  ["wasmtime serve, fresh instance per request", "wasmtime", 1],
  ["wasmtime serve, instances reused", "wasmtime", 50],
  ["Node host", "node", undefined],
];

describe.each(variants)("concurrent load: %s", (_label, kind, reuse) => {
  let node: RunningNode;
  beforeAll(async () => {
    node = await startNode(kind, { reuse, env: { KEEL_CONFIG: CONFIG } });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it("concurrent batch appends to one topic: dense offsets, no loss, batches never interleave", async () => {
    const clients = 12;
    const batches = 15;
    const per = 5;
    const acked: { client: number; batch: number; offsets: number[] }[] = [];
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let b = 0; b < batches; b++) {
          const records = Array.from({ length: per }, (_, j) => `c${c}-b${b}-r${j}`);
          const r = await fetch(`${node.url}/v1/topics/shared/records`, {
            method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ records }),
          });
          expect(r.status).toBe(200);
          acked.push({ client: c, batch: b, offsets: ((await r.json()) as { offsets: number[] }).offsets });
        }
      }),
    );
    const all: { offset: number; value: string }[] = [];
    for (let from = 0; ; ) {
      const page = (await (await fetch(`${node.url}/v1/topics/shared/records?from=${from}&max=1000`)).json()) as { records: { offset: number; value: string }[]; next: number };
      if (!page.records.length) break;
      all.push(...page.records);
      from = page.next;
    }
    const total = clients * batches * per;
    expect(all.map((r) => r.offset)).toEqual([...Array(total).keys()]);
    expect(new Set(all.map((r) => r.value)).size).toBe(total);
    for (const a of acked) {
      // Each batch sits at consecutive offsets, in order, exactly where the ack said.
      expect(a.offsets).toEqual(Array.from({ length: per }, (_, j) => a.offsets[0] + j));
      expect(a.offsets.map((o) => all[o].value)).toEqual(Array.from({ length: per }, (_, j) => `c${a.client}-b${a.batch}-r${j}`));
    }
  });

  it("compare-and-set increments from many clients lose no update", async () => {
    await fetch(`${node.url}/v1/kv/counter`, { method: "PUT", body: "0" });
    const clients = 6;
    const each = 8;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        for (let done = 0; done < each; ) {
          const cur = await fetch(`${node.url}/v1/kv/counter`);
          const etag = cur.headers.get("etag")!;
          const n = Number(await cur.text());
          const put = await fetch(`${node.url}/v1/kv/counter`, { method: "PUT", body: String(n + 1), headers: { "if-match": etag } });
          if (put.status === 200) done++;
          else expect(put.status).toBe(412);
        }
      }),
    );
    expect(Number(await (await fetch(`${node.url}/v1/kv/counter`)).text())).toBe(clients * each);
  });

  it("readers racing writers of one key only ever see a whole value", async () => {
    const value = (i: number) => JSON.stringify({ i, pad: "x".repeat(2000 + ((i * 997) % 30000)) });
    await fetch(`${node.url}/v1/kv/hot`, { method: "PUT", body: value(0) });
    let stop = false;
    let reads = 0;
    const readers = Array.from({ length: 3 }, async () => {
      while (!stop) {
        const r = await fetch(`${node.url}/v1/kv/hot`);
        expect(r.status).toBe(200);
        const doc = JSON.parse(await r.text()) as { i: number; pad: string };
        expect(doc.pad.length).toBe(2000 + ((doc.i * 997) % 30000));
        reads++;
      }
    });
    const writers = Array.from({ length: 3 }, async (_, w) => {
      for (let k = 1; k <= 15; k++) {
        expect((await fetch(`${node.url}/v1/kv/hot`, { method: "PUT", body: value(w * 100 + k) })).status).toBe(200);
      }
    });
    await Promise.all(writers);
    stop = true;
    await Promise.all(readers);
    expect(reads).toBeGreaterThan(0);
  });
});

// Regression: wasmtime's pooling allocator capped live core instances at 1,000 (~12 Keel
// requests in flight); 50 PUTs waiting on one key's lock failed with 500s until pooling was off.
describe("many writers of one key at once under pnpm serve's wasmtime flags", () => {
  let node: RunningNode;
  beforeAll(async () => {
    node = await startNode("wasmtime", { env: { KEEL_CONFIG: CONFIG } });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it("60 concurrent PUTs to one key all succeed", async () => {
    const statuses = await Promise.all(Array.from({ length: 60 }, (_, i) => fetch(`${node.url}/v1/kv/busy`, { method: "PUT", body: `w${i}` }).then((r) => r.status)));
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(node.output()).not.toMatch(/concurrent limit/);
  });
});
