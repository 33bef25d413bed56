// `pnpm measure [runs]`: cold start (spawn → first 200 from /_keel/health) and first-request
// latency (the first PUT and GET on a fresh node) on both hosts, plus a warm GET for
// comparison, each the median of `runs` (default 5) fresh processes on fresh data dirs.
import { startNode, type HostKind } from "../tests/helpers/nodes.ts";

const runs = Number(process.argv[2] ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timed(f: () => Promise<Response>): Promise<number> {
  const t = performance.now();
  const r = await f();
  await r.arrayBuffer();
  if (!r.ok) throw new Error(`request failed: ${r.status}`);
  return performance.now() - t;
}

const variants: [string, HostKind, { plainWasm?: boolean }][] = [
  ["wasmtime serve (composed.cwasm)", "wasmtime", {}],
  ["wasmtime serve (composed.wasm, compiled at start)", "wasmtime", { plainWasm: true }],
  ["Node host (eager per edge.toml)", "node", {}],
];

console.log(`measuring ${runs} fresh starts per host …`);
const rows: string[][] = [["host", "cold start ms", "first PUT ms", "first GET ms", "warm GET ms"]];
for (const [label, kind, opts] of variants) {
  const cold: number[] = [], put: number[] = [], get: number[] = [], warm: number[] = [];
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`  ${label}: run ${i + 1}/${runs}\r`);
    const node = await startNode(kind, opts);
    cold.push(node.coldStartMs);
    put.push(await timed(() => fetch(`${node.url}/v1/kv/m`, { method: "PUT", body: "v" })));
    get.push(await timed(() => fetch(`${node.url}/v1/kv/m`)));
    const w: number[] = [];
    for (let j = 0; j < 20; j++) w.push(await timed(() => fetch(`${node.url}/v1/kv/m`)));
    warm.push(median(w));
    await node.stop();
  }
  rows.push([label, ...[cold, put, get, warm].map((xs) => median(xs).toFixed(1))]);
}
process.stderr.write("\n");
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  "));
