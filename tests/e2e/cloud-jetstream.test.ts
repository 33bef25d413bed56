// The cloud tier on NATS JetStream ([cloud] store = "jetstream"), with real processes on
// loopback: a 3-server JetStream cluster, two stateless cloud gateways (Node host) behind a
// round-robin balancer, and three edges (wasmtime serve and Node host) syncing through them.
// The stream leader and one gateway are killed mid-sync and brought back: every record arrives
// exactly once and key versions converge per strategy.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, jetstream } from "@nats-io/jetstream";
import { configVariant, freePort, startNode, tempDataDir, type HostKind, type RunningNode } from "../helpers/nodes.ts";
import { startBalancer, type Balancer } from "../helpers/balancer.ts";
import { mintToken } from "../../host/src/token.ts";
import { token as subjectToken } from "../../host/src/cloud/jetstream.ts";
import { ensureNats, natsUnavailable, startCluster, type NatsCluster } from "../../scripts/lib/nats.ts";
import { spawnSync } from "node:child_process";
import { NODE, ROOT } from "../helpers/nodes.ts";

const SECRET = "cloud-js-test-secret-".padEnd(48, "x");
const SYNC = {
  enabled: true,
  interval_seconds: 3600, // runs are triggered explicitly (POST /_keel/sync/now)
  batch_size: 40,
  max_attempts: 3,
  topics: [{ name: "events", direction: "edge_to_cloud" }, { name: "notices", direction: "cloud_to_edge" }, { name: "payroll", direction: "bidirectional", end_to_end: true }],
  prefixes: [{ prefix: "orders/", direction: "bidirectional" }],
};
/** The edges' sealing key (end_to_end topic `payroll`); the cloud never has it. */
const KEYS = `k1:${Buffer.alloc(32, 7).toString("base64")}`;
const now = () => Math.floor(Date.now() / 1000);
const token = (claims: Record<string, unknown>) => mintToken(SECRET, "local", { iss: "keel-local", aud: "keel", exp: now() + 3600, ...claims });
const ADMIN = { authorization: `Bearer ${token({ sub: "op", scope: "admin read write" })}` };

const skip = natsUnavailable();
if (skip) console.log(`cloud on JetStream: skipped — ${skip}`);

async function syncNow(edge: RunningNode): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${edge.url}/_keel/sync/now`, { method: "POST", headers: ADMIN });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/** Sync runs that failed (the cloud side was down or failing over), for the failover test's report. */
let failedRuns = 0;

async function drain(edge: RunningNode, tries = 40): Promise<void> {
  for (let i = 0; i < tries; i++) {
    const r = await syncNow(edge);
    if (r.status !== 200) failedRuns++;
    const q = (await (await fetch(`${edge.url}/_keel/sync/queue`, { headers: ADMIN })).json()) as { queue: { records: number }[] };
    if (r.status === 200 && q.queue.every((l) => l.records === 0)) return;
    await new Promise((res) => setTimeout(res, 250));
  }
  throw new Error(`${edge.url}: the outbox did not drain`);
}

async function appendEvents(edge: RunningNode, id: string, from: number, to: number): Promise<void> {
  const records = Array.from({ length: to - from }, (_, i) => `${id}:${from + i}`);
  const r = await fetch(`${edge.url}/v1/topics/events/records`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ records }) });
  expect(r.status).toBe(200);
}

describe.skipIf(!!skip)("cloud tier on a 3-server JetStream cluster", () => {
  let cluster: NatsCluster;
  let nc: NatsConnection;
  const gateways: (RunningNode | null)[] = [null, null];
  const gatewayPorts: number[] = [];
  let balancer: Balancer;
  let cloudConfig: string;
  const edges: { id: string; kind: HostKind; node: RunningNode }[] = [];

  const startGateway = async (i: number) => {
    gateways[i] = await startNode("node", { port: gatewayPorts[i], dataDir: tempDataDir(`gw${i}`), env: { KEEL_JWT_SECRET: SECRET, KEEL_CONFIG: cloudConfig } });
  };

  beforeAll(async () => {
    const bin = ensureNats();
    const dir = tempDataDir("nats");
    const specs = [];
    for (let i = 0; i < 3; i++) specs.push({ name: `n${i + 1}`, port: await freePort(), clusterPort: await freePort(), dir: path.join(dir, `n${i + 1}`) });
    cluster = await startCluster(bin, specs);
    nc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
    // The cluster is ready once JetStream answers (a meta leader is elected).
    for (let t = 0; ; t++) {
      try {
        await (await jetstreamManager(nc)).getAccountInfo();
        break;
      } catch (e) {
        if (t > 100) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    cloudConfig = configVariant({
      node: { id: "cloud", role: "cloud" }, sync: SYNC, rate_limit: { enabled: false },
      cloud: { store: "jetstream", servers: cluster.urls, replicas: 3, request_timeout_ms: 4000 },
    });
    for (let i = 0; i < 2; i++) gatewayPorts.push(await freePort());
    await Promise.all([startGateway(0), startGateway(1)]);
    balancer = await startBalancer(gatewayPorts.map((port) => ({ host: "127.0.0.1", port })));
    const kinds: HostKind[] = ["wasmtime", "node", "wasmtime"];
    for (const [i, kind] of kinds.entries()) {
      const id = `edge-${i + 1}`;
      const config = configVariant({ node: { id, role: "edge" }, sync: { ...SYNC, cloud_url: balancer.url, token_env: "KEEL_SYNC_TOKEN", encryption_key_env: "KEEL_SYNC_KEYS" }, rate_limit: { enabled: false } });
      const node = await startNode(kind, { env: { KEEL_JWT_SECRET: SECRET, KEEL_SYNC_TOKEN: token({ sub: `node:${id}`, node: id, scope: "sync" }), KEEL_SYNC_KEYS: KEYS, KEEL_CONFIG: config } });
      edges.push({ id, kind, node });
    }
  }, 120_000);

  afterAll(async () => {
    for (const e of edges) await e.node.stop();
    for (const g of gateways) await g?.stop();
    await balancer?.close();
    await nc?.close();
    await cluster?.stop();
  });

  /** Keel-Offset of every message JetStream holds on `edge`'s subject of `events`, in stream order. */
  async function storedOffsets(edge: string): Promise<number[]> {
    const jsm = await jetstreamManager(nc);
    const out: number[] = [];
    const it = await jsm.direct.getBatch("keel_t_events", { seq: 1, batch: 100_000, next_by_subj: `keel.t.events.${subjectToken(edge)}` });
    try {
      for await (const m of it) out.push(Number(m.header.get("Keel-Offset")));
    } catch (e) {
      if (!/not found/.test(String(e))) throw e;
    }
    return out;
  }

  it("three edges push through two gateways: every record once, in order; keys converge", async () => {
    for (const e of edges) await appendEvents(e.node, e.id, 0, 100);
    // The same keys written on every edge: last write wins, the same on the cloud and every edge.
    for (const [i, e] of edges.entries()) {
      for (let k = 0; k < 5; k++) expect((await fetch(`${e.node.url}/v1/kv/orders%2F${k}`, { method: "PUT", body: `from ${e.id} #${i}` })).status).toBe(200);
    }
    await Promise.all(edges.map((e) => drain(e.node)));
    for (const e of edges) expect(await storedOffsets(e.id)).toEqual([...Array(100).keys()]);
    expect(balancer.counts.every((c) => c > 0)).toBe(true);
    // Pull the keys back to every edge: each ends with the same winner.
    await Promise.all(edges.map((e) => drain(e.node)));
    const values = [];
    for (const e of edges) values.push(await Promise.all([0, 1, 2, 3, 4].map(async (k) => (await fetch(`${e.node.url}/v1/kv/orders%2F${k}`)).text())));
    expect(values[0]).toEqual(values[1]);
    expect(values[1]).toEqual(values[2]);
    expect(values[0][0]).toMatch(/^from edge-3/); // the last writer, by hybrid logical clock
  }, 120_000);

  it("what cloud services publish on a cloud_to_edge topic reaches every edge once, in order", async () => {
    const js = jetstream(nc);
    for (let i = 0; i < 30; i++) await js.publish("keel.t.notices.%cloud", new TextEncoder().encode(`notice ${i}`));
    for (let round = 0; round < 2; round++) await Promise.all(edges.map((e) => drain(e.node)));
    for (const e of edges) {
      const page = (await (await fetch(`${e.node.url}/v1/topics/notices--cloud/records?from=0&max=1000`)).json()) as { records: { value: string }[] };
      expect(page.records.map((r) => Buffer.from((JSON.parse(r.value) as { b: string }).b, "base64").toString())).toEqual(Array.from({ length: 30 }, (_, i) => `notice ${i}`));
    }
  }, 60_000);

  it("an end_to_end topic: JetStream holds only ciphertext; every edge with the key reads every edge's records", async () => {
    const marker = "SALARY-MARKER";
    const r = await fetch(`${edges[0].node.url}/v1/topics/payroll/records`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ records: [`${marker} 1`, `${marker} 2`] }) });
    expect(r.status).toBe(200);
    for (let round = 0; round < 2; round++) await Promise.all(edges.map((e) => drain(e.node)));
    const jsm = await jetstreamManager(nc);
    const stored = [];
    for await (const m of await jsm.direct.getBatch("keel_t_payroll", { seq: 1, batch: 100 })) stored.push(Buffer.from(m.data).toString("latin1"));
    expect(stored).toHaveLength(2);
    expect(stored.join("")).not.toContain("SALARY");
    for (const e of edges) {
      const page = (await (await fetch(`${e.node.url}/v1/topics/payroll--cloud/records?from=0&max=100`)).json()) as { records: { value: string }[] };
      const opened = page.records.map((x) => JSON.parse(x.value) as { b: string; n: string; p: number });
      expect(opened.map((x) => [Buffer.from(x.b, "base64").toString(), x.n, x.p])).toEqual([[`${marker} 1`, "edge-1", 0], [`${marker} 2`, "edge-1", 1]]);
    }
    // A record pushed unsealed into an end-to-end topic is refused, stored nowhere, and counted.
    const gw = `http://127.0.0.1:${gatewayPorts[1]}`;
    const push = await fetch(`${gw}/_keel/sync/push`, {
      method: "POST", headers: { authorization: `Bearer ${token({ sub: "node:edge-1", node: "edge-1", scope: "sync" })}` },
      body: JSON.stringify({ v: 1, node: "edge-1", kv: [], topics: [{ t: "payroll", r: [[2, Date.now(), Buffer.from("plain").toString("base64")]] }] }),
    });
    expect(push.status).toBe(400);
    expect(((await push.json()) as { message: string }).message).toMatch(/end-to-end topic payroll: record 2/);
    expect(await (await fetch(`${gw}/_keel/metrics`, { headers: ADMIN })).text()).toMatch(/^keel_cloud_not_sealed_total 1$/m);
    expect((await jsm.streams.info("keel_t_payroll")).state.messages).toBe(2);
  }, 60_000);

  it("the stream leader and a gateway die mid-sync; once back, every record is stored exactly once and keys converge", async () => {
    for (const e of edges) await appendEvents(e.node, e.id, 100, 400);
    for (const e of edges) for (let k = 10; k < 20; k++) await fetch(`${e.node.url}/v1/kv/orders%2F${k}`, { method: "PUT", body: `${e.id} wrote ${k}` });
    const jsm = await jetstreamManager(nc);
    const leader = (await jsm.streams.info("keel_t_events")).cluster?.leader;
    const victim = cluster.servers.findIndex((s) => s.name === leader);
    expect(victim).toBeGreaterThanOrEqual(0);
    failedRuns = 0;
    const t0 = performance.now();
    const draining = Promise.all(edges.map((e) => drain(e.node, 120)));
    await new Promise((r) => setTimeout(r, 100));
    cluster.kill(victim);
    await gateways[0]!.stop("SIGKILL");
    gateways[0] = null;
    await new Promise((r) => setTimeout(r, 1500));
    await Promise.all([cluster.start(victim), startGateway(0)]);
    await draining;
    console.log(`cloud failover: stream leader ${leader} and gateway 0 killed 100 ms into the sync; drained in ${((performance.now() - t0) / 1000).toFixed(1)} s with ${failedRuns} failed sync runs retried`);
    // Pull once more so every edge has every key's winner.
    await Promise.all(edges.map((e) => drain(e.node)));
    for (const e of edges) expect(await storedOffsets(e.id)).toEqual([...Array(400).keys()]);
    const values = [];
    for (const e of edges) values.push(await Promise.all(Array.from({ length: 10 }, async (_, k) => (await fetch(`${e.node.url}/v1/kv/orders%2F${k + 10}`)).text())));
    expect(values[1]).toEqual(values[0]);
    expect(values[2]).toEqual(values[0]);
    expect(values[0].every((v) => /^edge-3 wrote/.test(v))).toBe(true);
  }, 180_000);

  it("refuses pushes without a node credential, with the wrong scope, and malformed batches; counts what it stored", async () => {
    const gw = `http://127.0.0.1:${gatewayPorts[1]}`;
    const push = (headers: Record<string, string>, body: string) => fetch(`${gw}/_keel/sync/push`, { method: "POST", headers, body });
    expect((await push({}, "{}")).status).toBe(401);
    expect((await push({ authorization: "Bearer nonsense" }, "{}")).status).toBe(401);
    expect((await push({ authorization: `Bearer ${token({ sub: "op", scope: "sync" })}` }, "{}")).status).toBe(403); // no node claim
    expect((await push({ authorization: `Bearer ${token({ sub: "x", node: "edge-9", scope: "read" })}` }, "{}")).status).toBe(403);
    const edge9 = { authorization: `Bearer ${token({ sub: "node:edge-9", node: "edge-9", scope: "sync" })}` };
    for (const bad of ["not json", "{}", JSON.stringify({ v: 1, node: "edge-9", kv: [{ k: "" }], topics: [] }), JSON.stringify({ v: 1, node: "edge-9", kv: [], topics: [{ t: "events", r: [["x", 1, "AA=="]] }] })]) {
      const r = await push(edge9, bad);
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: string }).error).toBe("bad_batch");
    }
    expect(await storedOffsets("edge-9")).toEqual([]);
    expect((await fetch(`${gw}/_keel/sync/pull?cursor=-1`, { headers: edge9 })).status).toBe(400);
    expect((await fetch(`${gw}/_keel/sync/push`, { headers: edge9 })).status).toBe(405);
    const metrics = await (await fetch(`${gw}/_keel/metrics`, { headers: ADMIN })).text();
    expect(metrics).toMatch(/^keel_cloud_records_total [1-9]\d*$/m);
    expect(metrics).toMatch(/^# TYPE keel_cloud_unavailable_total counter$/m);
  }, 60_000);
});

describe.skipIf(!!skip)("a cloud gateway whose JetStream cluster is down", () => {
  it("answers 503 with Retry-After, and the edge keeps its outbox for later", async () => {
    const dead = await freePort();
    const config = configVariant({
      node: { id: "cloud", role: "cloud" }, sync: SYNC, rate_limit: { enabled: false },
      cloud: { store: "jetstream", servers: [`nats://127.0.0.1:${dead}`], replicas: 1, request_timeout_ms: 300 },
    });
    const gw = await startNode("node", { env: { KEEL_JWT_SECRET: SECRET, KEEL_CONFIG: config } });
    try {
      const r = await fetch(`${gw.url}/_keel/sync/push`, { method: "POST", headers: { authorization: `Bearer ${token({ sub: "node:e", node: "e", scope: "sync" })}` }, body: JSON.stringify({ v: 1, node: "e", kv: [], topics: [] }) });
      expect(r.status).toBe(503);
      expect(r.headers.get("retry-after")).toBe("1");
      expect(((await r.json()) as { error: string }).error).toBe("store_unavailable");
      expect((await fetch(`${gw.url}/_keel/health`)).status).toBe(200);
    } finally {
      await gw.stop();
    }
  }, 60_000);
});

describe.skipIf(!!skip)("a JetStream cloud gateway with [rate_limit.rules.sync]", () => {
  let cluster: NatsCluster;
  let gw: RunningNode;
  beforeAll(async () => {
    const dir = tempDataDir("nats1");
    cluster = await startCluster(ensureNats(), [{ name: "solo", port: await freePort(), clusterPort: await freePort(), dir }]);
    const config = configVariant({
      node: { id: "cloud", role: "cloud" }, sync: SYNC,
      rate_limit: { enabled: true, rules: { sync: { rate: 0.1, burst: 3, key: "subject" } } },
      cloud: { store: "jetstream", servers: cluster.urls, replicas: 1 },
    });
    gw = await startNode("node", { env: { KEEL_JWT_SECRET: SECRET, KEEL_CONFIG: config } });
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    await cluster?.stop();
  });

  it("limits pushes per edge as the gateway component would: 429 with Retry-After past the burst", async () => {
    const headers = { authorization: `Bearer ${token({ sub: "node:edge-r", node: "edge-r", scope: "sync" })}` };
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${gw.url}/_keel/sync/push`, { method: "POST", headers, body: JSON.stringify({ v: 1, node: "edge-r", kv: [], topics: [{ t: "events", r: [[i, Date.now(), Buffer.from(`r${i}`).toString("base64")]] }] }) });
      statuses.push(r.status);
      if (r.status === 429) expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });
});

describe.skipIf(!!skip)("pnpm nats up | status | down", () => {
  it("starts a local cluster in the background, reports it, prints the [cloud] table, and stops it", async () => {
    const dir = tempDataDir("nats-cli");
    // Below Linux's ephemeral range (32768+), so no connection another test opens takes one of
    // the six ports (three client ports from here, their cluster ports 2000 above).
    const port = 10000 + Math.floor(Math.random() * 18000);
    const keel = (...args: string[]) => spawnSync(NODE, [path.join(ROOT, "bin/keel.mjs"), "nats", ...args, "--dir", dir], { cwd: ROOT, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "" } });
    const up = keel("up", "--servers", "3", "--port", String(port));
    try {
      expect(up.status, up.stderr).toBe(0);
      expect(up.stdout).toContain(`servers = ["nats://127.0.0.1:${port}", "nats://127.0.0.1:${port + 1}", "nats://127.0.0.1:${port + 2}"]`);
      const again = keel("up", "--port", String(port));
      expect(again.status).toBe(1);
      expect(again.stderr).toMatch(/^keel: a cluster from .* is already running/);
      const status = keel("status", "--json");
      expect(status.status).toBe(0);
      const st = JSON.parse(status.stdout) as { servers: { up: boolean }[]; jetstream: boolean };
      expect(st.servers.map((s) => s.up)).toEqual([true, true, true]);
      expect(st.jetstream).toBe(true);
    } finally {
      const down = keel("down");
      expect(down.stdout).toMatch(/stopped 3 servers/);
    }
    expect(keel("status").status).toBe(1);
    expect(keel("up", "--servers", "9").status).toBe(2);
  }, 60_000);
});
