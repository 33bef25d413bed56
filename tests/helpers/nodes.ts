// Start real Keel nodes for end-to-end tests: `wasmtime serve` on dist/composed.(c)wasm, or the
// Node host, each on a free loopback port with its own data dir. Nothing here is a fake.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { serveCommand, DEFAULT_CONFIG } from "../../scripts/serve.ts";
import { parse, stringify } from "smol-toml";
import { loadConfig } from "../../host/src/config.ts";
import { tokenFor } from "../../host/src/token.ts";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const TOOLS = process.env.KEEL_TOOLS || path.join(os.homedir(), ".cache", "keel", "tools");
export const WASMTIME = fs.existsSync(path.join(TOOLS, "bin", "wasmtime")) ? path.join(TOOLS, "bin", "wasmtime") : "wasmtime";
export const NODE = process.execPath;
/** The Node host as `npm start` runs it: host/launch.json (the bundle `pnpm build` writes, and its Node flags). */
const LAUNCH = JSON.parse(fs.readFileSync(path.join(ROOT, "host", "launch.json"), "utf8")) as { main: string; nodeFlags: string[] };
export const NODE_HOST_ARGS = [...LAUNCH.nodeFlags, path.join(ROOT, LAUNCH.main)];
const NODE_HOST_MAIN = path.join(ROOT, LAUNCH.main);

export type HostKind = "wasmtime" | "node";

export interface RunningNode {
  kind: HostKind;
  url: string;
  dataDir: string;
  proc: ChildProcess;
  output: () => string;
  /** Milliseconds from spawn to the first successful health response. */
  coldStartMs: number;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function tempDataDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `keel-${label}-`));
}

/**
 * A loopback port nothing listens on, picked at random below Linux's ephemeral range (32768+).
 * NOTE: a port the kernel hands out (listen on 0) is an ephemeral one, and between our probe and
 * the node's listen any test's outgoing connection could take it as its local port: a node then
 * failed with EADDRINUSE in a full run. Below the range only another listener can collide.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once("error", () => resolve(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

export interface StartOptions {
  dataDir?: string;
  /** Listen on this loopback port (default: a free one). */
  port?: number;
  env?: Record<string, string>;
  /** wasmtime only: run dist/composed.wasm instead of the precompiled .cwasm. */
  plainWasm?: boolean;
  /** wasmtime only: extra flags for `wasmtime serve`. */
  wasmtimeArgs?: string[];
  /** wasmtime only: requests per instance (1 = a fresh instance per request); default as `pnpm serve`. */
  reuse?: number;
  /** wasmtime only: serve this composed .wasm instead of dist/composed.cwasm. */
  artifact?: string;
  /** wasmtime only: serve dist/edge-lite.cwasm (as `pnpm serve --lite`). */
  lite?: boolean;
  /** Node host only: these Node flags instead of host/launch.json's (measurements). */
  nodeFlags?: string[];
}

/**
 * Every node this process started and has not stopped: killed when this process exits, however
 * it exits (a test or benchmark that dies of an uncaught error would otherwise leave its nodes
 * running — gossiping, syncing — and skew whatever runs next on the machine).
 */
const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

export async function startNode(kind: HostKind, opts: StartOptions = {}): Promise<RunningNode> {
  // A port we chose that another listener took first: choose again (an explicit port is the
  // caller's, perhaps already in other nodes' config, so that failure is theirs to see).
  for (let attempt = 0; ; attempt++) {
    try {
      return await startOnce(kind, opts);
    } catch (e) {
      if (opts.port !== undefined || attempt >= 3 || !/EADDRINUSE|address already in use/i.test(String(e))) throw e;
    }
  }
}

async function startOnce(kind: HostKind, opts: StartOptions): Promise<RunningNode> {
  const dataDir = opts.dataDir ?? tempDataDir(kind);
  const port = opts.port ?? (await freePort());
  const addr = `127.0.0.1:${port}`;
  const t0 = performance.now();
  let proc: ChildProcess;
  if (kind === "wasmtime") {
    const artifact = opts.artifact ?? (opts.lite ? path.join(ROOT, "dist", opts.plainWasm ? "edge-lite.wasm" : "edge-lite.cwasm") : undefined);
    const { args, env } = serveCommand({ addr, dataDir, precompiled: !opts.plainWasm && !opts.artifact, configFile: opts.env?.KEEL_CONFIG, extra: opts.wasmtimeArgs, reuse: opts.reuse, env: { ...process.env, ...opts.env }, artifact });
    proc = spawn(WASMTIME, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env });
  } else {
    proc = spawn(NODE, opts.nodeFlags ? [...opts.nodeFlags, NODE_HOST_MAIN] : NODE_HOST_ARGS, {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, KEEL_ADDR: addr, KEEL_DATA: dataDir, ...opts.env },
    });
  }
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const url = `http://${addr}`;
  live.add(proc);
  const exited = new Promise<void>((resolve) => proc.once("exit", () => {
    live.delete(proc);
    resolve();
  }));
  const node: RunningNode = {
    kind, url, dataDir, proc, output: () => out, coldStartMs: 0,
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${kind} host exited with ${proc.exitCode}:\n${out}`);
    try {
      const r = await fetch(`${url}/_keel/health`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await node.stop("SIGKILL");
      throw new Error(`${kind} host did not answer /_keel/health within 30 s:\n${out}`);
    }
    // Every 5 ms: coldStartMs (pnpm measure) is within 5 ms of when the node could first answer.
    await new Promise((r) => setTimeout(r, 5));
  }
  node.coldStartMs = performance.now() - t0;
  return node;
}

/** Run the cli composition with `wasmtime run` or `jco run` on a data dir. */
export async function runCli(runner: "wasmtime" | "jco", dataDir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, argv, env] = runner === "wasmtime"
    ? [WASMTIME, ["run", "--dir", `${dataDir}::/data`, path.join(ROOT, "dist/cli.wasm"), ...args], process.env]
    : [NODE, [path.join(ROOT, "node_modules/@bytecodealliance/jco/dist/jco.js"), "run", "--jco-import", path.join(ROOT, "host/src/cli-preopens.mjs"), path.join(ROOT, "dist/cli.wasm"), ...args], { ...process.env, KEEL_DATA: dataDir }];
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, argv as string[], { cwd: ROOT, env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.once("error", reject);
    p.once("exit", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** deployment/edge.toml with some tables replaced, written to a temp file; returns its path. */
export function configVariant(overrides: Record<string, unknown>): string {
  const doc = parse(fs.readFileSync(DEFAULT_CONFIG, "utf8")) as Record<string, unknown>;
  for (const [k, v] of Object.entries(overrides)) doc[k] = v;
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "keel-config-")), "edge.toml");
  fs.writeFileSync(file, stringify(doc));
  return file;
}

/** The default config with rate limits off: for tests and benchmarks that push load. */
export const UNLIMITED = { rate_limit: { enabled: false } };

/** A bearer token the node accepts (signed with its dev secret), `admin` scope by default. */
export function tokenOf(node: RunningNode, scopes = ["read", "write", "admin"], configFile = DEFAULT_CONFIG): string {
  return tokenFor(loadConfig(configFile), node.dataDir, { sub: "test-admin", scopes, ttlSeconds: 600 });
}

/** Headers carrying an admin token for `node`. */
export function adminHeaders(node: RunningNode): Record<string, string> {
  return { authorization: `Bearer ${tokenOf(node)}` };
}
