// End-to-end encrypted sync with real processes on loopback: a `wasmtime serve` cloud that has no
// key, an edge that seals (wasmtime serve, behind a fault-injecting proxy), an edge that opens
// (the Node host), and edges that must be refused — a wrong key, an unknown key id, a tampered
// record, a record that is not sealed. The cloud stores and forwards ciphertext and still
// dedupes by offset; every refusal is a clear error, counted in /_keel/metrics, nothing applied.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configVariant, startNode, type HostKind, type RunningNode } from "../helpers/nodes.ts";
import { startProxy, type FaultProxy } from "../helpers/proxy.ts";
import { mintToken } from "../../host/src/token.ts";

const SECRET = "sync-e2e-secret-".padEnd(48, "x");
const K1 = randomBytes(32).toString("base64");
const K2 = randomBytes(32).toString("base64");
const MARKER = "PAYROLL-MARKER";
const now = () => Math.floor(Date.now() / 1000);
const token = (claims: Record<string, unknown>) => mintToken(SECRET, "local", { iss: "keel-local", aud: "keel", exp: now() + 3600, ...claims });
const ADMIN = { authorization: `Bearer ${token({ sub: "op", scope: "admin read write" })}` };
const BASE = { enabled: true, interval_seconds: 3600, batch_size: 7, max_attempts: 2 };
const E2E = (direction: string, names = ["payroll", "memos"]) => names.map((name) => ({ name, direction, end_to_end: true }));

async function startCloud(): Promise<RunningNode> {
  const config = configVariant({
    node: { id: "cloud-1", role: "cloud" },
    sync: { ...BASE, topics: E2E("bidirectional"), prefixes: [{ prefix: "down/", direction: "cloud_to_edge" }] },
    rate_limit: { enabled: false },
  });
  return startNode("wasmtime", { env: { KEEL_JWT_SECRET: SECRET, KEEL_CONFIG: config } });
}

async function startEdge(kind: HostKind, id: string, cloudUrl: string, keys: string, sync: Record<string, unknown>): Promise<RunningNode> {
  const config = configVariant({
    node: { id, role: "edge" },
    sync: { ...BASE, cloud_url: cloudUrl, token_env: "KEEL_SYNC_TOKEN", encryption_key_env: "KEEL_SYNC_KEYS", ...sync },
    rate_limit: { enabled: false },
  });
  return startNode(kind, { env: { KEEL_JWT_SECRET: SECRET, KEEL_SYNC_TOKEN: token({ sub: `node:${id}`, node: id, scope: "sync" }), KEEL_SYNC_KEYS: keys, KEEL_CONFIG: config } });
}

/** An edge that only pulls the end-to-end topics (and the `down/` keys) from the cloud, all in one answer. */
const puller = (kind: HostKind, id: string, cloud: RunningNode, keys: string, topics = ["payroll", "memos"]) =>
  startEdge(kind, id, cloud.url, keys, { batch_size: 100, topics: E2E("cloud_to_edge", topics), prefixes: [{ prefix: "down/", direction: "cloud_to_edge" }] });

async function syncNow(edge: RunningNode): Promise<{ status: number; body: { error: string | null; pushed_records: number; pulled_versions: number } }> {
  const r = await fetch(`${edge.url}/_keel/sync/now`, { method: "POST", headers: ADMIN });
  return { status: r.status, body: (await r.json()) as never };
}

interface Stored { value: string }
async function records(node: RunningNode, topic: string): Promise<Stored[]> {
  const r = await fetch(`${node.url}/v1/topics/${topic}/records?from=0&max=1000`);
  return r.status === 404 ? [] : ((await r.json()) as { records: Stored[] }).records;
}
const parsed = async (node: RunningNode, topic: string) => (await records(node, topic)).map((r) => JSON.parse(r.value) as { o: number; t: number; b: string; n?: string; p?: number });

async function refusals(node: RunningNode): Promise<Record<string, number>> {
  const text = await (await fetch(`${node.url}/_keel/metrics`, { headers: ADMIN })).text();
  return Object.fromEntries([...text.matchAll(/^keel_sync_sealed_refused_total\{reason="(\w+)"\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
}

async function append(node: RunningNode, topic: string, values: string[]): Promise<void> {
  const r = await fetch(`${node.url}/v1/topics/${topic}/records`, { method: "POST", headers: { ...ADMIN, "content-type": "application/json" }, body: JSON.stringify({ records: values }) });
  expect(r.status).toBe(200);
}

/** A refused pull: a 502 naming the reason, counted, and no record or key of that answer applied. */
async function expectRefused(edge: RunningNode, reason: string, message: RegExp, topic = "payroll"): Promise<void> {
  const before = (await records(edge, `${topic}--cloud`)).length;
  const r = await syncNow(edge);
  expect(r.status).toBe(502);
  expect(r.body.error).toMatch(message);
  expect(r.body.error).toMatch(/nothing applied/);
  const status = (await (await fetch(`${edge.url}/_keel/sync/status`, { headers: ADMIN })).json()) as { last_error: string };
  expect(status.last_error).toMatch(message);
  const counts = await refusals(edge);
  expect(counts[reason]).toBeGreaterThanOrEqual(1);
  for (const other of ["wrong_key", "tampered", "unknown_key", "not_sealed"].filter((x) => x !== reason)) expect(counts[other], other).toBe(0);
  expect((await records(edge, `${topic}--cloud`)).length).toBe(before);
}

describe("end-to-end encrypted sync", () => {
  let cloud: RunningNode;
  let proxy: FaultProxy;
  let sealer: RunningNode;
  let reader: RunningNode;

  beforeAll(async () => {
    cloud = await startCloud();
    proxy = await startProxy({ host: "127.0.0.1", port: Number(new URL(cloud.url).port) });
    sealer = await startEdge("wasmtime", "edge-a", proxy.url, `k1:${K1}`, { topics: E2E("edge_to_cloud") });
    // The reader holds a newer key first and the sealer's key second (a rotation under way).
    reader = await puller("node", "edge-b", cloud, `k2:${K2},k1:${K1}`);
  });
  afterAll(async () => {
    await reader?.stop();
    await sealer?.stop();
    await proxy?.close();
    await cloud?.stop();
  });

  it("the sealing edge pushes; the cloud stores no plaintext and each record once across retried batches", async () => {
    await fetch(`${sealer.url}/_keel/sync/pause`, { method: "POST", headers: ADMIN });
    await append(sealer, "payroll", Array.from({ length: 20 }, (_, i) => `${MARKER}-${i} ${"salary ".repeat(i)}`));
    await append(sealer, "memos", ["memo 0", "memo 1"]);
    await fetch(`${sealer.url}/_keel/sync/resume`, { method: "POST", headers: ADMIN });
    proxy.plan(["drop-response", "reset-mid-request", "drop-response", "delay"]);
    for (let i = 0; i < 30; i++) {
      const r = await syncNow(sealer);
      const q = (await (await fetch(`${sealer.url}/_keel/sync/queue`, { headers: ADMIN })).json()) as { queue: { records: number }[] };
      if (r.status === 200 && q.queue.every((l) => l.records === 0)) break;
    }
    expect(proxy.seen).toContain("drop-response");
    const stored = await parsed(cloud, "payroll--edge-a");
    expect(stored.map((r) => r.o)).toEqual([...Array(20).keys()]);
    // Neither the stored envelopes nor their payloads hold the plaintext.
    const raw = (await records(cloud, "payroll--edge-a")).map((r) => r.value).join("\n");
    expect(raw).not.toContain(MARKER);
    for (const r of stored) {
      const bytes = Buffer.from(r.b, "base64");
      expect(bytes.subarray(0, 2).toString()).toBe("k1");
      expect(bytes.toString("latin1")).not.toContain(MARKER);
      expect(bytes.toString("latin1")).not.toContain("salary");
    }
    // Every nonce (after "k1", kid length, kid and the 4-byte key check) is fresh: wasi:random at run time, not a snapshot.
    expect(new Set(stored.map((r) => Buffer.from(r.b, "base64").subarray(9, 33).toString("hex"))).size).toBe(20);
    // Forwarded into the cloud's own topic for the edges that pull it, once each, still sealed.
    const forwarded = await parsed(cloud, "payroll");
    expect(forwarded.map((r) => [r.n, r.o])).toEqual([...Array(20).keys()].map((o) => ["edge-a", o]));
    expect((await records(cloud, "payroll")).map((r) => r.value).join()).not.toContain(MARKER);
    expect((await parsed(cloud, "memos--edge-a")).length).toBe(2);
  });

  it("a second edge holding the key (Node host) pulls the end-to-end topic and reads plaintext", async () => {
    expect((await fetch(`${cloud.url}/v1/kv/down%2Fcfg`, { method: "PUT", headers: ADMIN, body: "v1" })).status).toBe(200);
    const r = await syncNow(reader);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const got = await parsed(reader, "payroll--cloud");
    expect(got.map((x) => Buffer.from(x.b, "base64").toString().split(" ")[0])).toEqual([...Array(20).keys()].map((i) => `${MARKER}-${i}`));
    expect(got.map((x) => [x.n, x.p])).toEqual([...Array(20).keys()].map((o) => ["edge-a", o]));
    expect((await parsed(reader, "memos--cloud")).map((x) => Buffer.from(x.b, "base64").toString())).toEqual(["memo 0", "memo 1"]);
    expect(await (await fetch(`${reader.url}/v1/kv/down%2Fcfg`)).text()).toBe("v1");
    expect((await syncNow(reader)).body.pulled_versions).toBe(0); // a second pull brings nothing twice
    expect((await parsed(reader, "payroll--cloud")).length).toBe(20);
    expect(await refusals(reader)).toEqual({ wrong_key: 0, tampered: 0, unknown_key: 0, not_sealed: 0 });
  });

  it("a Node host edge seals too (its nonces from the host's wasi:random); the reader opens its records", async () => {
    const edge = await startEdge("node", "edge-n", cloud.url, `k1:${K1}`, { topics: E2E("edge_to_cloud", ["payroll"]) });
    try {
      await append(edge, "payroll", [`${MARKER}-node-0`, `${MARKER}-node-1`]);
      expect((await syncNow(edge)).status).toBe(200);
      const stored = await parsed(cloud, "payroll--edge-n");
      expect(stored.map((r) => r.o)).toEqual([0, 1]);
      expect(stored.map((r) => Buffer.from(r.b, "base64").subarray(0, 2).toString())).toEqual(["k1", "k1"]);
      expect((await records(cloud, "payroll--edge-n")).map((r) => r.value).join()).not.toContain(MARKER);
      // Not the nonces the other edge drew (a random source fixed at build time would repeat them).
      const nonce = (r: { b: string }) => Buffer.from(r.b, "base64").subarray(9, 33).toString("hex");
      const others = new Set((await parsed(cloud, "payroll--edge-a")).map(nonce));
      expect(stored.filter((r) => others.has(nonce(r)))).toEqual([]);
    } finally {
      await edge.stop();
    }
    expect((await syncNow(reader)).status).toBe(200);
    const got = (await parsed(reader, "payroll--cloud")).slice(20);
    expect(got.map((x) => [x.n, x.p, Buffer.from(x.b, "base64").toString()])).toEqual([["edge-n", 0, `${MARKER}-node-0`], ["edge-n", 1, `${MARKER}-node-1`]]);
  });

  it("an edge with a wrong key under the same key id is refused, counted, and applies nothing", async () => {
    const edge = await puller("wasmtime", "edge-wrong", cloud, `k1:${randomBytes(32).toString("base64")}`);
    try {
      await expectRefused(edge, "wrong_key", /end-to-end topic payroll: key k1 here is not the key k1 that sealed the record/);
      // The key that came in the same answer was not applied either.
      expect((await fetch(`${edge.url}/v1/kv/down%2Fcfg`)).status).toBe(404);
    } finally {
      await edge.stop();
    }
  });

  it("an edge without the key id that sealed is refused (unknown key), counted, and applies nothing", async () => {
    const edge = await puller("node", "edge-old", cloud, `k0:${randomBytes(32).toString("base64")}`);
    try {
      await expectRefused(edge, "unknown_key", /sealed with key id k1, which this node does not hold \(it has k0\)/);
      expect((await fetch(`${edge.url}/v1/kv/down%2Fcfg`)).status).toBe(404);
    } finally {
      await edge.stop();
    }
  });

  it("a record tampered with on the cloud is refused by the edge that holds the key, counted, nothing applied", async () => {
    const [first] = await parsed(cloud, "memos");
    const sealed = Buffer.from(first.b, "base64");
    sealed[sealed.length - 20] ^= 0x01; // one bit of the ciphertext; origin and offset unchanged
    await append(cloud, "memos", [JSON.stringify({ ...first, b: sealed.toString("base64") })]);
    expect((await fetch(`${cloud.url}/v1/kv/down%2Fafter`, { method: "PUT", headers: ADMIN, body: "v2" })).status).toBe(200);
    await expectRefused(reader, "tampered", /end-to-end topic memos: record 0 of memos from edge-a failed authentication/, "memos");
    expect((await fetch(`${reader.url}/v1/kv/down%2Fafter`)).status).toBe(404);
  });

  it("a record that is not sealed in an end-to-end topic is refused, counted, and nothing of its batch applied", async () => {
    await append(cloud, "payroll", ["written on the cloud in the clear"]);
    const edge = await puller("wasmtime", "edge-late", cloud, `k1:${K1}`, ["payroll"]);
    try {
      await expectRefused(edge, "not_sealed", /end-to-end topic payroll: record 22 is not a sealed record forwarded by the cloud/);
      expect(await records(edge, "payroll--cloud")).toEqual([]); // not even the 22 that would open
    } finally {
      await edge.stop();
    }
  });

  it("the cloud refuses a push whose end-to-end records are not sealed (400), counts it, stores nothing", async () => {
    const body = JSON.stringify({ v: 1, node: "edge-x", kv: [], topics: [{ t: "payroll", r: [[0, Date.now(), Buffer.from(`${MARKER} in the clear`).toString("base64")]] }] });
    const r = await fetch(`${cloud.url}/_keel/sync/push`, { method: "POST", headers: { authorization: `Bearer ${token({ sub: "node:edge-x", node: "edge-x", scope: "sync" })}` }, body });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { message: string }).message).toMatch(/end-to-end topic payroll: record 0: not a sealed record/);
    expect(await records(cloud, "payroll--edge-x")).toEqual([]);
    expect((await refusals(cloud)).not_sealed).toBe(1);
  });

  it("an edge with an end-to-end topic and no keys in its environment does not start", async () => {
    const config = configVariant({ node: { id: "edge-nokey", role: "edge" }, sync: { ...BASE, cloud_url: cloud.url, token_env: "KEEL_SYNC_TOKEN", encryption_key_env: "KEEL_SYNC_KEYS", topics: E2E("edge_to_cloud") } });
    await expect(startNode("node", { env: { KEEL_JWT_SECRET: SECRET, KEEL_SYNC_TOKEN: "x", KEEL_SYNC_KEYS: "", KEEL_CONFIG: config } })).rejects.toThrow(/environment variable KEEL_SYNC_KEYS \(sync\.encryption_key_env\) is not set/);
  });
});
