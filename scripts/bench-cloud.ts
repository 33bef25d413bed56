// `pnpm bench cloud [--edges 1,3,9] [--records 2000] [--timeout-ms 5000]`: the cloud tier, measured in one run.
//   - aggregation: N edges (wasmtime serve) each holding --records topic records sync them at
//     once into (a) one local cloud node (wasmtime serve, its data dir) and (b) two stateless
//     gateways (Node host) behind a round-robin balancer on a 3-server JetStream cluster (R3);
//     records/s = all records ÷ time until every outbox is drained;
//   - failover: a client pushes one-record batches back to back through the gateways while the
//     stream's leader is SIGKILLed; the pause is the longest gap between acknowledged pushes.
import path from "node:path";
import { info } from "./lib/progress.ts";
import { table } from "./lib/bench-report.ts";
import { ensureNats, natsUnavailable, startCluster, type NatsCluster } from "./lib/nats.ts";
import { configVariant, freePort, startNode, tempDataDir, type RunningNode } from "../tests/helpers/nodes.ts";
import { startBalancer } from "../tests/helpers/balancer.ts";
import { mintToken } from "../host/src/token.ts";

const SECRET = "bench-cloud-secret".padEnd(48, "x");
const token = (c: Record<string, unknown>) => mintToken(SECRET, "local", { iss: "keel-local", aud: "keel", exp: Math.floor(Date.now() / 1000) + 3600, ...c });
const ADMIN = { authorization: `Bearer ${token({ sub: "op", scope: "admin read write" })}` };
const SYNC = { enabled: true, interval_seconds: 3600, batch_size: 1000, topics: [{ name: "events", direction: "edge_to_cloud" }] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const event = (edge: string, i: number) => JSON.stringify({ edge, i, kind: ["scan", "sale", "refund"][i % 3], sku: `sku-${(i * 7919) % 5000}`, qty: 1 + (i % 4), ts: 1_760_000_000_000 + i * 37 });

interface Target { label: string; url: string; stop: () => Promise<void> }

async function localCloud(): Promise<Target> {
  const cloud = await startNode("wasmtime", { env: { KEEL_JWT_SECRET: SECRET, KEEL_CONFIG: configVariant({ node: { id: "cloud", role: "cloud" }, sync: SYNC, rate_limit: { enabled: false } }) } });
  return { label: "1 local cloud node (wasmtime serve)", url: cloud.url, stop: () => cloud.stop() };
}

/** [cloud] request_timeout_ms of the gateways (--timeout-ms): how soon a push to a leaderless stream answers 503. */
let requestTimeoutMs = 5000;

async function jetstreamCloud(cluster: NatsCluster): Promise<Target> {
  const config = configVariant({ node: { id: "cloud", role: "cloud" }, sync: SYNC, rate_limit: { enabled: false }, cloud: { store: "jetstream", servers: cluster.urls, replicas: 3, request_timeout_ms: requestTimeoutMs } });
  const gws = await Promise.all([0, 1].map(async () => startNode("node", { env: { KEEL_JWT_SECRET: SECRET, KEEL_CONFIG: config } })));
  const lb = await startBalancer(gws.map((g) => ({ host: "127.0.0.1", port: Number(new URL(g.url).port) })));
  return { label: "2 gateways on 3-server JetStream (R3)", url: lb.url, stop: async () => (await lb.close(), await Promise.all(gws.map((g) => g.stop())), undefined) };
}

async function startEdges(n: number, cloudUrl: string, records: number): Promise<RunningNode[]> {
  const edges: RunningNode[] = [];
  for (let i = 0; i < n; i++) {
    const id = `edge-${i}`;
    const config = configVariant({ node: { id, role: "edge" }, sync: { ...SYNC, cloud_url: cloudUrl, token_env: "KEEL_SYNC_TOKEN" }, rate_limit: { enabled: false } });
    const edge = await startNode("wasmtime", { env: { KEEL_JWT_SECRET: SECRET, KEEL_SYNC_TOKEN: token({ sub: `node:${id}`, node: id, scope: "sync" }), KEEL_CONFIG: config } });
    for (let from = 0; from < records; from += 500) {
      const batch = Array.from({ length: Math.min(500, records - from) }, (_, k) => event(id, from + k));
      const r = await fetch(`${edge.url}/v1/topics/events/records`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ records: batch }) });
      if (r.status !== 200) throw new Error(`preload on ${id}: ${r.status} ${await r.text()}`);
    }
    edges.push(edge);
  }
  return edges;
}

async function drain(edge: RunningNode): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await fetch(`${edge.url}/_keel/sync/now`, { method: "POST", headers: ADMIN });
    await r.arrayBuffer();
    const q = (await (await fetch(`${edge.url}/_keel/sync/queue`, { headers: ADMIN })).json()) as { queue: { records: number }[] };
    if (r.status === 200 && q.queue.every((l) => l.records === 0)) return;
  }
  throw new Error(`${edge.url}: outbox did not drain`);
}

async function aggregate(target: Target, n: number, records: number): Promise<number> {
  info(`  ${n} edge${n > 1 ? "s" : ""} × ${records} records → ${target.label} …`);
  const edges = await startEdges(n, target.url, records);
  try {
    const t0 = performance.now();
    await Promise.all(edges.map(drain));
    return (n * records) / ((performance.now() - t0) / 1000);
  } finally {
    await Promise.all(edges.map((e) => e.stop()));
  }
}

/** Pushes of one record back to back while the stream leader is killed: the longest gap between acknowledgements. */
async function failover(cluster: NatsCluster, target: Target): Promise<{ pauseMs: number; leader: string; failed: number }> {
  const auth = { authorization: `Bearer ${token({ sub: "node:probe", node: "probe", scope: "sync" })}` };
  const { jetstreamManager } = await import("@nats-io/jetstream");
  const { connect } = await import("@nats-io/transport-node");
  const nc = await connect({ servers: cluster.urls });
  const acks: number[] = [];
  let failed = 0;
  let offset = 0;
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      try {
        const body = JSON.stringify({ v: 1, node: "probe", kv: [], topics: [{ t: "events", r: [[offset, Date.now(), Buffer.from(event("probe", offset)).toString("base64")]] }] });
        const r = await fetch(`${target.url}/_keel/sync/push`, { method: "POST", headers: auth, body, signal: AbortSignal.timeout(10_000) });
        await r.arrayBuffer();
        if (r.status === 200) {
          acks.push(performance.now());
          offset++;
        } else failed++;
      } catch {
        failed++;
      }
    }
  })();
  await sleep(1500);
  const leader = (await (await jetstreamManager(nc)).streams.info("keel_t_events")).cluster?.leader ?? "?";
  const victim = cluster.servers.findIndex((s) => s.name === leader);
  const killedAt = performance.now();
  cluster.kill(victim);
  await sleep(20_000);
  stop = true;
  await loop;
  await nc.close();
  await cluster.start(victim);
  const before = acks.filter((t) => t <= killedAt).pop() ?? killedAt;
  const after = acks.find((t) => t > killedAt);
  let pause = after === undefined ? Infinity : after - before;
  for (let i = 1; i < acks.length; i++) if (acks[i] > killedAt) pause = Math.max(pause, acks[i] - acks[i - 1]);
  return { pauseMs: pause, leader, failed };
}

export async function benchCloud(args: string[]): Promise<void> {
  const arg = (name: string, dflt: string) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
  };
  const ns = arg("--edges", "1,3,9").split(",").map(Number).filter((n) => Number.isInteger(n) && n > 0 && n <= 32);
  const records = Math.max(100, Math.min(100_000, Number(arg("--records", "2000")) || 2000));
  requestTimeoutMs = Math.max(100, Math.min(120_000, Number(arg("--timeout-ms", "5000")) || 5000));
  const why = natsUnavailable();
  if (why) {
    info(`bench cloud needs nats-server: ${why}`);
    return;
  }
  const dir = tempDataDir("bench-nats");
  const specs = await Promise.all(["n1", "n2", "n3"].map(async (name) => ({ name, port: await freePort(), clusterPort: await freePort(), dir: path.join(dir, name) })));
  info("3-server JetStream cluster on loopback …");
  const cluster = await startCluster(ensureNats(info), specs);
  try {
    const rows = [["edges", "local cloud rec/s", "JetStream (2 gw) rec/s", "JetStream ÷ local"]];
    for (const n of ns) {
      const local = await localCloud();
      const a = await aggregate(local, n, records).finally(() => local.stop());
      const js = await jetstreamCloud(cluster);
      const b = await aggregate(js, n, records).finally(() => js.stop());
      rows.push([String(n), a.toFixed(0), b.toFixed(0), (b / a).toFixed(2)]);
    }
    table(`records/s aggregated from N edges (wasmtime serve, ${records} JSON events each, batches of 1000), same run`, rows);
    info("failover: one-record pushes back to back while the stream leader is killed …");
    const js = await jetstreamCloud(cluster);
    const f = await failover(cluster, js).finally(() => js.stop());
    table(`JetStream failover (stream leader SIGKILLed; gateways' request_timeout_ms = ${requestTimeoutMs})`, [["leader", "longest pause between acknowledged pushes (ms)", "pushes refused or timed out"], [f.leader, Number.isFinite(f.pauseMs) ? f.pauseMs.toFixed(0) : "none within 20 s", String(f.failed)]]);
  } finally {
    await cluster.stop();
  }
}
