// The Node host process: config, components, HTTP server and timers (main.ts is the entry).
import module from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { codeCacheState, saveCodeCache } from "./code-cache.ts";
import { loadConfig, ConfigError } from "./config.ts";
import { Host } from "./host.ts";
import { configureLog, log, now } from "./log.ts";
import { logSettings } from "@keel/config/log";
import { parseAddr } from "./addr.ts";
import { tokenFor } from "./token.ts";
import { startMeshTimer } from "./mesh-timer.ts";
import type { EdgeConfig } from "./config.ts";

/**
 * The Node host has timers (wasmtime serve does not): an edge with [sync] enabled asks its own
 * gateway to sync every `interval_seconds`, with a short-lived admin token it signs itself.
 */
function startSyncTimer(config: EdgeConfig, dataDir: string, url: string): NodeJS.Timeout | undefined {
  const sync = (config.raw.sync ?? {}) as { enabled?: unknown; interval_seconds?: unknown; cloud_url?: unknown };
  if (sync.enabled !== true || config.node.role !== "edge" || typeof sync.cloud_url !== "string") return undefined;
  const every = typeof sync.interval_seconds === "number" && sync.interval_seconds >= 1 ? sync.interval_seconds : 10;
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const token = tokenFor(config, dataDir, { sub: "keel-host-timer", scopes: ["admin"], ttlSeconds: 60 });
      const r = await fetch(`${url}/_keel/sync/now`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
      const summary = (await r.json()) as Record<string, unknown>;
      if (r.status !== 200 || Number(summary.pushed_records) || Number(summary.pulled_versions)) log(r.status === 200 ? "info" : "warn", "sync run", summary);
    } catch (e) {
      log("warn", "sync timer failed", { error: (e as Error).message });
    } finally {
      running = false;
    }
  };
  log("info", "sync timer started", { every_seconds: every, cloud: sync.cloud_url });
  return setInterval(tick, every * 1000);
}

// Two levels up: from host/src/run.ts, and from the bundle dist/node-host/keel-node.cjs (build.ts).
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

async function main(): Promise<void> {
  const t0 = now();
  const configFile = path.resolve(process.env.KEEL_CONFIG ?? path.join(ROOT, "deployment", "edge.toml"));
  const dataDir = path.resolve(process.env.KEEL_DATA ?? "data");
  const { host, port } = parseAddr(process.env.KEEL_ADDR ?? "127.0.0.1:8080");
  const config = loadConfig(configFile);
  configureLog(logSettings(config.raw));
  const node = new Host({ config, dataDir, componentsDir: path.join(ROOT, "dist", "host") });
  await node.start();
  // Loaded only when configured: the NATS clients and the mDNS library cost start-up time
  // on every node that does not use them.
  const cloud = config.raw.cloud.store === "jetstream" ? (await import("./cloud/index.ts")).startCloudTier(node, config) : undefined;
  await node.listen(port, host, cloud ?? {});
  log("info", "keel node listening", {
    addr: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    node: config.node.id, role: config.node.role, data: dataDir, config: configFile,
    eager: node.instantiated(), boot_ms: +t0.toFixed(1), startup_ms: +(now() - t0).toFixed(1), code_cache: codeCacheState(),
  });
  // NOTE: caches are written now, not at exit: a node is often stopped by a signal (or killed).
  // Node's compile cache holds the modules Node loaded (the launcher; the host's own modules
  // when run from source). The code cache of the glue and the bundle (code-cache.ts) is written
  // now if this start had none — with each eager component's `instantiate`, compiled by this
  // start — and again after the first requests, with what they compiled (1 s covers a client's
  // first calls; 60 s the routes that come later, e.g. after a load balancer's first health
  // checks).
  module.flushCompileCache?.();
  saveCodeCache("missing");
  node.httpServer?.once("request", () => {
    setTimeout(() => saveCodeCache("grown"), 1_000).unref();
    setTimeout(() => saveCodeCache("grown"), 60_000).unref();
  });
  const timer = startSyncTimer(config, dataDir, `http://${host.includes(":") ? `[${host}]` : host}:${port}`);
  const meshTimer = startMeshTimer(node, config);
  const discovery = config.raw.mesh.enabled && config.raw.mesh.discovery === "mdns" ? (await import("./mdns.ts")).startDiscovery(node, config, port) : undefined;
  const stop = () => {
    if (timer) clearInterval(timer);
    if (meshTimer) clearInterval(meshTimer);
    discovery?.stop();
    node.close();
    void (cloud?.store.close() ?? Promise.resolve()).finally(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((e) => {
  log("error", e instanceof ConfigError ? "bad configuration" : "keel node failed to start", { error: (e as Error).message });
  process.exit(1);
});
