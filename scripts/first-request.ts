// `pnpm first-request [--node-flags "<flags>"]`: where the Node host's first requests spend
// their time (deployment/README.md). In one process, two sets of component instances (two
// Hosts, each on a fresh data dir) each answer a health check, a second one, a PUT and a GET,
// called straight through the gateway's keel:gateway/http (no HTTP): what the first set pays
// and the second does not is paid once per process (V8's compiled code, the glue), not per
// instance. With --node-flags the measurement runs in a child Node with those V8/Node flags
// (e.g. "--no-lazy --no-wasm-lazy-compilation"), and `--trace-wasm-compilation-times` among them
// prints each wasm function V8 compiles.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../host/src/config.ts";
import { Host } from "../host/src/host.ts";
import { saveCodeCache } from "../host/src/code-cache.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const flagsAt = process.argv.indexOf("--node-flags");
if (flagsAt >= 0) {
  const flags = (process.argv[flagsAt + 1] ?? "").split(" ").filter(Boolean);
  const r = spawnSync(process.execPath, [...flags, fileURLToPath(import.meta.url)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}

const config = loadConfig(path.join(ROOT, "deployment", "edge.toml"));
const request = (method: string, pathWithQuery: string, body = "") => ({ method, pathWithQuery, headers: [], body: { tag: "bytes", val: new TextEncoder().encode(body) } });
type Gateway = { handle(r: ReturnType<typeof request>): { status: number } };
const ms = (f: () => { status: number }) => {
  const t = performance.now();
  const { status } = f();
  if (status >= 300) throw new Error(`request failed: ${status}`);
  return (performance.now() - t).toFixed(1);
};
const rows: string[] = [];
for (const set of ["first", "second"]) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "keel-first-request-"));
  const host = new Host({ config, dataDir, componentsDir: path.join(ROOT, "dist", "host") });
  await host.start();
  const gw = host.instance("gateway");
  const http = (gw["keel:gateway/http@0.1.0"] ?? gw.http) as unknown as Gateway;
  const health = ms(() => http.handle(request("GET", "/_keel/health")));
  const health2 = ms(() => http.handle(request("GET", "/_keel/health")));
  const put = ms(() => http.handle(request("PUT", "/v1/kv/first", "hello")));
  const get = ms(() => http.handle(request("GET", "/v1/kv/first")));
  rows.push(`${set} set of instances: health ${health} ms, again ${health2} ms, first PUT ${put} ms, first GET ${get} ms`);
  fs.rmSync(dataDir, { recursive: true, force: true });
}
// As the host does after its first requests (run.ts): keep what they compiled for the next run.
saveCodeCache("missing");
saveCodeCache("grown");
console.log(rows.join("\n"));
process.exit(0);
