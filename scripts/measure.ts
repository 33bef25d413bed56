// `pnpm measure [runs]`: per host, the median of `runs` (default 5) fresh processes on fresh
// data dirs of
//   - cold start (spawn → first 200 from /_keel/health), the first PUT and GET, the first PUT
//     after a restart on the same data (what a node that restarts pays: a fresh data dir also
//     lays out its directories and key index on the first PUT), early GETs (the
//     median of the next 20) and warm GETs (the median of 20 after 300 more: the Node host's V8
//     compiles hot WebAssembly again, optimised, after a few hundred calls), and a GET after 2 s
//     without requests (what a client that comes every few seconds gets) — with auth and rate
//     limits on, as the default edge.toml has them;
//   - RSS of the server process: idle after start, after 100 sequential requests, and after
//     16 concurrent connections for 5 s (autocannon, GETs of one key, rate limits off so the
//     load is served rather than refused), and the requests/s that load got.
// `--only <text>` measures only the hosts whose label contains it (e.g. `--only Node`);
// `--node-flags "<flags>"` starts the Node host with these Node flags instead of
// host/launch.json's (`--node-flags ""`: none), to see what a flag buys.
// Progress goes to stderr (scripts/lib/progress.ts): one updating line on a terminal, plain
// lines otherwise.
import fs from "node:fs";
import autocannon from "autocannon";
import { done, status } from "./lib/progress.ts";
import { configVariant, startNode, UNLIMITED, type HostKind, type RunningNode, type StartOptions } from "../tests/helpers/nodes.ts";

const onlyAt = process.argv.indexOf("--only");
const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;
const flagsAt = process.argv.indexOf("--node-flags");
const nodeFlags = flagsAt >= 0 ? (process.argv[flagsAt + 1] ?? "").split(" ").filter(Boolean) : undefined;
const runs = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timed(f: () => Promise<Response>): Promise<number> {
  const t = performance.now();
  const r = await f();
  await r.arrayBuffer();
  if (!r.ok) throw new Error(`request failed: ${r.status}`);
  return performance.now() - t;
}

/** Resident set of a process, MB (Linux /proc). */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

const variants: [string, HostKind, StartOptions][] = [
  ["wasmtime serve (composed.cwasm)", "wasmtime", {}],
  ["wasmtime serve (edge-lite.cwasm)", "wasmtime", { lite: true }],
  ["wasmtime serve (composed.wasm, compiled at start)", "wasmtime", { plainWasm: true }],
  [nodeFlags ? `Node host (eager per edge.toml; node ${nodeFlags.join(" ") || "without flags"})` : "Node host (eager per edge.toml)", "node", nodeFlags ? { nodeFlags } : {}],
];

/** 16 connections of GETs for 5 s; requests/s served. */
async function load(node: RunningNode): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    autocannon({ url: `${node.url}/v1/kv/m`, connections: 16, duration: 5 }, (err, r) => (err ? reject(err) : resolve(r.requests.average)));
  });
}

status(`measuring ${runs} fresh starts per host …`);
const unlimited = configVariant(UNLIMITED);
const rows: string[][] = [["host", "cold start ms", "first PUT ms", "first GET ms", "first PUT restart ms", "early GET ms", "warm GET ms", "GET after 2 s idle ms", "RSS idle MB", "RSS 100 seq MB", "RSS 16 conn MB", "req/s 16 conn"]];
for (const [label, kind, opts] of variants.filter(([label]) => !only || label.includes(only))) {
  const cols: number[][] = rows[0].slice(1).map(() => []);
  for (let i = 0; i < runs; i++) {
    status(`${label}: run ${i + 1}/${runs}`);
    const node = await startNode(kind, opts);
    cols[0].push(node.coldStartMs);
    cols[1].push(await timed(() => fetch(`${node.url}/v1/kv/m`, { method: "PUT", body: "v" })));
    cols[2].push(await timed(() => fetch(`${node.url}/v1/kv/m`)));
    const early: number[] = [];
    for (let j = 0; j < 20; j++) early.push(await timed(() => fetch(`${node.url}/v1/kv/m`)));
    cols[4].push(median(early));
    for (let j = 0; j < 300; j++) await (await fetch(`${node.url}/v1/kv/m`)).arrayBuffer();
    const warm: number[] = [];
    for (let j = 0; j < 20; j++) warm.push(await timed(() => fetch(`${node.url}/v1/kv/m`)));
    cols[5].push(median(warm));
    // What a client that comes every few seconds gets (wasmtime serve drops an idle instance
    // after [wasmtime] idle_instance_seconds).
    await new Promise((r) => setTimeout(r, 2_000));
    cols[6].push(await timed(() => fetch(`${node.url}/v1/kv/m`)));
    await node.stop();
    const again = await startNode(kind, { ...opts, dataDir: node.dataDir });
    cols[3].push(await timed(() => fetch(`${again.url}/v1/kv/m2`, { method: "PUT", body: "v" })));
    await again.stop();
    // Memory on a node without rate limits, so the concurrent load is served, not refused.
    const m = await startNode(kind, { ...opts, env: { KEEL_CONFIG: unlimited } });
    await new Promise((r) => setTimeout(r, 300));
    cols[7].push(rssMb(m.proc.pid!));
    await fetch(`${m.url}/v1/kv/m`, { method: "PUT", body: "v" });
    for (let j = 0; j < 100; j++) await (await fetch(`${m.url}/v1/kv/m`)).arrayBuffer();
    cols[8].push(rssMb(m.proc.pid!));
    cols[10].push(await load(m));
    cols[9].push(rssMb(m.proc.pid!));
    await m.stop();
  }
  rows.push([label, ...cols.map((xs) => median(xs).toFixed(1))]);
}
done();
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  "));
