// `pnpm bench cpu-ab --a <old.wasm> --b <new.wasm> [--mode get|update|append] [--rounds 4]
// [--requests 15000]`: two builds of composed.wasm compared by the CPU time the wasmtime serve
// process spends per request (utime + stime from /proc), 16 connections, auth and rate limits off.
// Each round starts one node per build, in alternating order, seeds 1,000 keys of 100 bytes,
// warms up with 2,000 requests, then counts CPU over --requests more.
//
// NOTE: on this 2-core machine whole runs fall into a fast and a slow mode (~500 and ~750 µs per
// GET, whichever build runs), so the table gives each build's lowest run beside the median, and
// each round's ratio. Make the old build with `git stash` or a checkout of the old commit,
// `pnpm build`, and a copy of dist/composed.wasm.
import fs from "node:fs";
import autocannon from "autocannon";
import { info } from "./lib/progress.ts";
import { table } from "./lib/bench-report.ts";
import { cpuTimeMicros, seedBenchKeys } from "./lib/bench-node.ts";
import { configVariant, startNode, UNLIMITED } from "../tests/helpers/nodes.ts";

const MODES = ["get", "update", "append"] as const;
type Mode = (typeof MODES)[number];
const VALUE = "v".repeat(100);

function usage(why: string): never {
  console.error(`bench cpu-ab: ${why}\nusage: pnpm bench cpu-ab --a <old composed.wasm> --b <new composed.wasm> [--mode ${MODES.join("|")}] [--rounds N] [--requests N]`);
  process.exit(2);
}

function parse(args: string[]): { builds: [string, string]; mode: Mode; rounds: number; requests: number } {
  const val = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i < 0 ? undefined : args[i + 1];
  };
  const count = (name: string, d: number, min: number) => {
    const v = val(name);
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) usage(`--${name} takes a whole number ≥ ${min}, not ${JSON.stringify(v)}`);
    return n;
  };
  const builds = (["a", "b"] as const).map((k) => {
    const f = val(k);
    if (!f) usage(`--${k} is required`);
    let head: Buffer;
    try {
      head = fs.readFileSync(f).subarray(0, 8);
    } catch (e) {
      usage(`--${k} ${f}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
    // A component's preamble: "\0asm", then version 0x0d and layer 1.
    if (head.toString("latin1", 0, 4) !== "\0asm" || head[6] !== 1) usage(`--${k} ${f} is not a WebAssembly component`);
    return f;
  }) as [string, string];
  const mode = (val("mode") ?? "get") as Mode;
  if (!MODES.includes(mode)) usage(`--mode must be one of ${MODES.join(", ")}, not ${JSON.stringify(mode)}`);
  return { builds, mode, rounds: count("rounds", 4, 1), requests: count("requests", 15000, 100) };
}

export async function benchCpuAb(args: string[]): Promise<void> {
  const { builds, mode, rounds, requests } = parse(args);
  const cpuMicros = (pid: number) => {
    const t = cpuTimeMicros(pid);
    return t.user + t.system;
  };
  const per: [number[], number[]] = [[], []];
  for (let r = 0; r < rounds; r++) {
    for (const k of r % 2 ? [1, 0] : [0, 1]) {
      const node = await startNode("wasmtime", { artifact: builds[k], env: { KEEL_CONFIG: configVariant(UNLIMITED) } });
      try {
        await seedBenchKeys(node.url, VALUE);
        let seq = 0;
        const request = () => (mode === "get" ? { method: "GET" as const, path: `/v1/kv/bench-${seq++ % 1000}` }
          : mode === "update" ? { method: "PUT" as const, path: `/v1/kv/bench-${seq++ % 1000}`, body: VALUE }
          : { method: "POST" as const, path: "/v1/topics/t/records", body: VALUE });
        const run = (amount: number) => autocannon({ url: node.url, connections: 16, amount, requests: [{ setupRequest: (q: autocannon.Request) => ({ ...q, ...request() }) }] });
        await run(2000);
        const c0 = cpuMicros(node.proc.pid!);
        const out = await run(requests);
        if (out.non2xx) throw new Error(`${out.non2xx} of ${out.requests.total} requests failed on build ${"ab"[k]}`);
        per[k].push((cpuMicros(node.proc.pid!) - c0) / out.requests.total);
        info(`round ${r + 1}, build ${"ab"[k]}: ${per[k].at(-1)!.toFixed(0)} µs of CPU per request`);
      } finally {
        await node.stop();
      }
    }
  }
  const med = (v: number[]) => [...v].sort((x, y) => x - y)[v.length >> 1];
  const low = (v: number[]) => Math.min(...v);
  table(`CPU per ${mode} request (wasmtime serve, 16 connections, ${requests} requests per run, ${rounds} runs per build, alternating):`, [
    ["build", "lowest µs", "median µs", "runs µs"],
    ...builds.map((f, k) => [`${"ab"[k]}: ${f}`, low(per[k]).toFixed(0), med(per[k]).toFixed(0), per[k].map((x) => x.toFixed(0)).join(" ")]),
    ["b / a", (low(per[1]) / low(per[0])).toFixed(3), (med(per[1]) / med(per[0])).toFixed(3), per[1].map((x, i) => (x / per[0][i]).toFixed(2)).join(" ")],
  ]);
}
