// `pnpm serve`: run dist/composed.wasm under `wasmtime serve`, the way an edge node does.
//   KEEL_ADDR  listen address (default 127.0.0.1:8080)
//   KEEL_DATA  data directory (default ./data), preopened as /data
// Uses the precompiled dist/composed.cwasm when it is there (faster start); extra arguments
// after `--` go to wasmtime (e.g. `-- --max-instance-reuse-count 100`).
// `--lite` serves dist/edge-lite.(c)wasm instead: KV, topics, auth and rate limits, no sync,
// mesh or conflict plug-ins — what a Pi Zero runs.
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { DIST, tool } from "./lib/project.ts";
import { parseAddr } from "../host/src/addr.ts";
import { componentEnv, loadConfig } from "../host/src/config.ts";
import { ROOT } from "./lib/project.ts";

export const DEFAULT_CONFIG = path.join(ROOT, "deployment", "edge.toml");

/**
 * Requests one instance serves before wasmtime makes a fresh one (one request at a time per
 * instance either way). Measured with 16 connections on 2 cores (GET, `pnpm bench storage`):
 * fresh instance per request ≈ 210 req/s, reused ≈ 2,300 req/s — instantiating the six
 * components (mostly StarlingMonkey's heap) costs ~4 ms. Keel keeps no state in memory that
 * another instance could make stale, so reuse is safe; `[wasmtime] max_instance_reuse_count`
 * in edge.toml overrides it (1 = a fresh instance for every request).
 */
export const DEFAULT_INSTANCE_REUSE = 1000;

/**
 * Seconds wasmtime keeps an idle instance for the next request (`--idle-instance-timeout`;
 * wasmtime's own default is 1 s). An edge node's clients often come every few seconds (a sensor
 * posting, a dashboard polling), and with 1 s each such request got a fresh instance: a GET
 * 1.5 s after the last request took 9–12 ms against 3–6 ms from a kept instance (auth and rate
 * limits on, six requests each, one-off script); `pnpm measure 5 --only composed.cwasm`'s GET
 * after 2 s idle: 8.7 ms with `idle_instance_seconds = 1`, 3.8 ms with 60. What a kept instance costs: its memory (the
 * seven QuickJS memories, 1–2 MB each from their snapshots) stays mapped for this long after a
 * burst. Safe for the same reason reuse is: state lives in files. `[wasmtime]
 * idle_instance_seconds` in edge.toml overrides it.
 */
export const DEFAULT_IDLE_INSTANCE_SECONDS = 60;

/**
 * wasmtime serve's pooling allocator caps live core instances at 1,000 by default; one Keel
 * instance is ~80 core instances (9 components), so ~12 requests in flight at once — e.g. PUTs
 * queued on a key's lock — made the rest fail with "maximum concurrent limit of 1000 for core
 * instances reached" (measured: 7,725 of 8,459 PUTs at 50 connections). Raising the pool means
 * reserving address space per slot (4+ GiB each), more than a 39-bit ARM board has, so Keel
 * turns pooling off: allocation on demand has no such cap. Cost measured at 64 connections,
 * GET: ~3,700 → ~2,000 req/s; at 16 connections ~2,700 → ~2,300. `[wasmtime] pooling = true`
 * turns it back on for hosts with few concurrent requests.
 */
const POOLING_OFF = ["-O", "pooling-allocator=n"];

/**
 * The `wasmtime serve` command for a node: the one place both `pnpm serve` and the tests get
 * it. Component environment variables are passed as `--env NAME` (inherited from `env`), so
 * secrets never appear on a command line.
 */
export function serveCommand(opts: { addr: string; dataDir: string; precompiled: boolean; configFile?: string; extra?: string[]; reuse?: number; env?: NodeJS.ProcessEnv; artifact?: string }): { args: string[]; env: NodeJS.ProcessEnv; notes: string[] } {
  parseAddr(opts.addr);
  const config = loadConfig(opts.configFile ?? DEFAULT_CONFIG);
  // A component cannot reach NATS (no sockets beyond wasi:http): the JetStream store lives in the Node host.
  if (config.raw.cloud.store === "jetstream") throw new Error(`${config.file}: cloud.store = "jetstream" runs on the Node host (npm start / pnpm host), not under wasmtime serve`);
  const parent = opts.env ?? process.env;
  const { env, notes } = componentEnv(config, path.resolve(opts.dataDir), parent);
  // Validated (a whole number ≥ 1), DEFAULT_INSTANCE_REUSE when edge.toml leaves it out.
  const reuse = opts.reuse ?? config.raw.wasmtime.max_instance_reuse_count;
  const artifact = opts.artifact ?? (opts.precompiled ? path.join(DIST, "composed.cwasm") : path.join(DIST, "composed.wasm"));
  const args = [
    "serve",
    "-S", "cli",
    "--dir", `${path.resolve(opts.dataDir)}::/data`,
    "--addr", opts.addr,
    ...Object.keys(env).flatMap((k) => ["--env", k]),
    ...(reuse > 1 ? ["--max-instance-reuse-count", String(reuse), "--idle-instance-timeout", `${config.raw.wasmtime.idle_instance_seconds}s`] : []),
    ...(config.raw.wasmtime.pooling ? [] : POOLING_OFF),
    ...(opts.precompiled ? ["--allow-precompiled"] : []),
    ...(opts.extra ?? []),
    artifact,
  ];
  return { args, env: { ...parent, ...env }, notes };
}

function main(): void {
  const addr = process.env.KEEL_ADDR ?? "127.0.0.1:8080";
  const dataDir = process.env.KEEL_DATA ?? "data";
  fs.mkdirSync(dataDir, { recursive: true });
  const lite = process.argv.includes("--lite");
  const name = lite ? "edge-lite" : "composed";
  const precompiled = fs.existsSync(path.join(DIST, `${name}.cwasm`));
  const artifact = path.join(DIST, `${name}.${precompiled ? "cwasm" : "wasm"}`);
  const extra = process.argv.slice(2).filter((a) => a !== "--" && a !== "--lite");
  const { args, env, notes } = serveCommand({ addr, dataDir, precompiled, extra, configFile: process.env.KEEL_CONFIG, artifact });
  for (const n of notes) process.stderr.write(`[keel] ${n}\n`);
  process.stderr.write(`[keel] ${tool("wasmtime")} ${args.join(" ")}\n`);
  const child = spawn(tool("wasmtime"), args, { stdio: "inherit", env });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

if (import.meta.main) main();
