// `pnpm bench mesh [--nodes 3,5,9] [--writes 20] [--interval 200]`: the mesh with N Node-host nodes on loopback
// (full mesh of static peers, gossip every 200 ms), measured in one run per N:
//   - visibility: a write on one node until every other node serves it (p50 / p99 of --writes);
//   - bytes per exchange (request + reply) while in sync, and while a node catches up on
//     500 keys and 500 records written while it was down;
//   - time until the others declare a killed node dead.
import { info } from "./lib/progress.ts";
import { table } from "./lib/bench-report.ts";
import { configVariant, freePort, startNode, type RunningNode } from "../tests/helpers/nodes.ts";
import { mintToken } from "../host/src/token.ts";

const SECRET = "bench-mesh-secret".padEnd(48, "x");
const token = (c: Record<string, unknown>) => mintToken(SECRET, "local", { iss: "keel-local", aud: "keel", exp: Math.floor(Date.now() / 1000) + 3600, ...c });
const ADMIN = { authorization: `Bearer ${token({ sub: "op", scope: "admin read write" })}` };
/** gossip_interval_ms of every node (--interval; 200 by default, the interval the targets are set for). */
let INTERVAL = 200;

type Status = { peers: { id: string; state: string }[]; bytes_sent: number; served: number };
const status = async (n: RunningNode): Promise<Status> => (await (await fetch(`${n.url}/_keel/mesh/status`, { headers: ADMIN })).json()) as Status;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];

export async function startMesh(n: number): Promise<{ nodes: RunningNode[]; start: (i: number) => Promise<RunningNode> }> {
  const ports = await Promise.all(Array.from({ length: n }, () => freePort()));
  const dirs: (string | undefined)[] = [];
  const start = async (i: number) => {
    const id = `b${i}`;
    const node = await startNode("node", {
      port: ports[i], dataDir: dirs[i],
      env: {
        KEEL_JWT_SECRET: SECRET, KEEL_MESH_TOKEN: token({ sub: `node:${id}`, node: id, scope: "mesh" }),
        KEEL_CONFIG: configVariant({
          node: { id, role: "edge" },
          mesh: {
            enabled: true, url: `http://127.0.0.1:${ports[i]}`, token_env: "KEEL_MESH_TOKEN", gossip_interval_ms: INTERVAL, suspect_timeout_ms: 2000,
            peers: ports.flatMap((p, j) => (j === i ? [] : [{ id: `b${j}`, url: `http://127.0.0.1:${p}` }])),
            replicated_prefixes: ["shared/"], replicated_topics: ["events"],
          },
          rate_limit: { enabled: false },
        }),
      },
    });
    dirs[i] = node.dataDir;
    return node;
  };
  const nodes: RunningNode[] = [];
  for (let i = 0; i < n; i++) nodes.push(await start(i));
  return { nodes, start };
}

/** Σ bytes sent / Σ exchanges served over every node, during `work`. */
async function bytesPerExchange(nodes: RunningNode[], work: () => Promise<unknown>): Promise<number> {
  const before = await Promise.all(nodes.map(status));
  await work();
  const after = await Promise.all(nodes.map(status));
  const bytes = after.reduce((s, a, i) => s + a.bytes_sent - before[i].bytes_sent, 0);
  const served = after.reduce((s, a, i) => s + a.served - before[i].served, 0);
  return served ? bytes / served : NaN;
}

async function visible(nodes: RunningNode[], except: number, key: string, deadline: number): Promise<boolean> {
  for (;;) {
    const seen = await Promise.all(nodes.map(async (n, i) => i === except || (await fetch(`${n.url}/v1/kv/${key}`)).status === 200));
    if (seen.every(Boolean)) return true;
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
}

export async function benchMesh(args: string[]): Promise<void> {
  const at = args.indexOf("--nodes");
  const sizes = (at >= 0 ? args[at + 1] : "3,5,9").split(",").map(Number);
  const wi = args.indexOf("--writes");
  const writes = wi >= 0 ? Number(args[wi + 1]) : 20;
  const ii = args.indexOf("--interval");
  if (ii >= 0) INTERVAL = Math.max(50, Math.min(60_000, Number(args[ii + 1]) || 200));
  const rows = [["nodes", "visible p50 ms", "visible p99 ms", "in-sync B/exchange", "catch-up B/exchange", "catch-up s", "dead after s"]];
  for (const n of sizes) {
    info(`mesh of ${n}: starting ${n} Node-host nodes …`);
    const { nodes, start } = await startMesh(n);
    // Each figure lands in the row as it is measured: a later step that fails keeps the earlier ones.
    const row = [String(n), "—", "—", "—", "—", "—", "—"];
    rows.push(row);
    try {
      const t0 = Date.now();
      while ((await status(nodes[0])).peers.filter((p) => p.state === "alive").length < n - 1 || (await status(nodes[n - 1])).peers.some((p) => p.state !== "alive")) {
        if (Date.now() - t0 > 30_000) throw new Error("the mesh did not come up within 30 s");
        await sleep(100);
      }
      info(`  visibility: ${writes} writes …`);
      const times: number[] = [];
      for (let w = 0; w < writes; w++) {
        const from = w % n;
        const key = `shared%2Fvis-${n}-${w}`;
        const t = performance.now();
        await fetch(`${nodes[from].url}/v1/kv/${key}`, { method: "PUT", body: `write ${w}` });
        if (!(await visible(nodes, from, key, Date.now() + 10_000))) throw new Error(`write ${w} not visible everywhere within 10 s`);
        times.push(performance.now() - t);
      }
      row[1] = pct(times, 50).toFixed(0);
      row[2] = pct(times, 99).toFixed(0);
      info("  bytes per exchange in sync (3 s idle) …");
      row[3] = (await bytesPerExchange(nodes, () => sleep(3000))).toFixed(0);
      info("  catch-up: one node down while 500 keys and 500 records are written …");
      const last = n - 1;
      await nodes[last].stop();
      for (let k = 0; k < 500; k += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => fetch(`${nodes[0].url}/v1/kv/shared%2Fbulk-${k + j}`, { method: "PUT", body: `{"bulk":${k + j},"pad":"${"z".repeat(40)}"}` })));
      await fetch(`${nodes[0].url}/v1/topics/events/records`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ records: Array.from({ length: 500 }, (_, j) => `{"event":${j},"pad":"${"e".repeat(40)}"}`) }) });
      let catchUp = NaN;
      const catching = await bytesPerExchange(nodes.slice(0, last), async () => {
        nodes[last] = await start(last);
        const t = performance.now();
        while ((await fetch(`${nodes[last].url}/v1/kv/shared%2Fbulk-499`)).status !== 200 || ((await (await fetch(`${nodes[last].url}/v1/topics/events--b0/records?from=499&max=1`)).json()) as { records?: unknown[] }).records?.length !== 1) {
          if (performance.now() - t > 180_000) {
            info("  catch-up: not done within 180 s");
            return;
          }
          await sleep(50);
        }
        catchUp = (performance.now() - t) / 1000;
      });
      row[4] = catching.toFixed(0);
      row[5] = Number.isNaN(catchUp) ? "> 180" : catchUp.toFixed(1);
      info("  failure detection: killing a node …");
      await nodes[last].stop("SIGKILL");
      const tk = performance.now();
      while ((await status(nodes[0])).peers.find((p) => p.id === `b${last}`)?.state !== "dead") {
        if (performance.now() - tk > 30_000) {
          row[6] = "> 30";
          throw new Error("not declared dead within 30 s");
        }
        await sleep(50);
      }
      row[6] = ((performance.now() - tk) / 1000).toFixed(1);
      info(`  ${row.join(" | ")}`);
    } catch (e) {
      info(`  mesh of ${n}: ${(e as Error).message} (the row keeps what was measured before)`);
    } finally {
      await Promise.all(nodes.map((x) => x.stop()));
    }
  }
  table(`mesh on loopback, Node host nodes, gossip every ${INTERVAL} ms (targets at 5 nodes: p99 ≤ 1000 ms; in sync ≤ 1 KB per peer; dead ≤ 6 s):`, rows);
}
