// `npm start`: run a Keel node on the Node host.
//   KEEL_ADDR    listen address (default 127.0.0.1:8080)
//   KEEL_DATA    data directory (default ./data)
//   KEEL_CONFIG  config file (default deployment/edge.toml)
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig, ConfigError } from "./config.ts";
import { Host } from "./host.ts";
import { log } from "./log.ts";
import { parseAddr } from "./addr.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

async function main(): Promise<void> {
  const t0 = performance.now();
  const configFile = path.resolve(process.env.KEEL_CONFIG ?? path.join(ROOT, "deployment", "edge.toml"));
  const dataDir = path.resolve(process.env.KEEL_DATA ?? "data");
  const { host, port } = parseAddr(process.env.KEEL_ADDR ?? "127.0.0.1:8080");
  const config = loadConfig(configFile);
  const node = new Host({ config, dataDir, componentsDir: path.join(ROOT, "dist", "host") });
  await node.start();
  node.listen(port, host);
  log("info", "keel node listening", {
    addr: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    node: config.node.id, role: config.node.role, data: dataDir, config: configFile,
    eager: node.instantiated(), startup_ms: +(performance.now() - t0).toFixed(1),
  });
  const stop = () => {
    node.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((e) => {
  log("error", e instanceof ConfigError ? "bad configuration" : "keel node failed to start", { error: (e as Error).message });
  process.exit(1);
});
