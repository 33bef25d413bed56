// edge.toml's [components.loading]: eager components are instantiated at start, lazy ones
// inside the first call that needs them. Proven on the real Node host process by its log.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNode, tempDataDir, type RunningNode } from "../../tests/helpers/nodes.ts";

function instantiated(output: string): string[] {
  return output
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { msg: string; component?: string })
    .filter((e) => e.msg === "component instantiated")
    .map((e) => e.component!);
}

describe("Node host loading modes", () => {
  let node: RunningNode;
  beforeAll(async () => {
    const dir = tempDataDir("lazy-config");
    const config = path.join(dir, "edge.toml");
    fs.writeFileSync(config, [
      "[node]", 'id = "lazy-test"', "",
      "[components.loading]", 'eager = ["gateway", "auth", "rate-limit"]', 'lazy = ["storage", "sync", "mesh"]', "",
    ].join("\n"));
    node = await startNode("node", { env: { KEEL_CONFIG: config } });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it("instantiates eager components at start and no lazy one", () => {
    const at = instantiated(node.output());
    expect(at).toEqual(expect.arrayContaining(["gateway", "auth", "rate-limit"]));
    expect(at).not.toContain("storage");
    expect(at).not.toContain("sync");
    expect(at).not.toContain("mesh");
  });

  it("a route that does not touch storage leaves it uninstantiated", async () => {
    expect((await fetch(`${node.url}/_keel/health`)).status).toBe(200);
    expect(instantiated(node.output())).not.toContain("storage");
  });

  it("the first KV call instantiates storage, once, and the call succeeds", async () => {
    const put = await fetch(`${node.url}/v1/kv/lazy`, { method: "PUT", body: "loaded on demand" });
    expect(put.status).toBe(200);
    expect(await (await fetch(`${node.url}/v1/kv/lazy`)).text()).toBe("loaded on demand");
    const at = instantiated(node.output());
    expect(at.filter((c) => c === "storage")).toHaveLength(1);
    expect(at).not.toContain("mesh");
  });
});

// host/src/wasi.ts: preview2-shim (and the worker thread it starts) is loaded only when a
// component first needs a stream, a pollable or outgoing HTTP — not for a node serving KV.
const threadNames = (pid: number) =>
  fs.readdirSync(`/proc/${pid}/task`).map((t) => fs.readFileSync(`/proc/${pid}/task/${t}/comm`, "utf8").trim());

describe("Node host WASI: preview2-shim on first use", () => {
  const shimLoads = (output: string) => output.split("\n").filter((l) => l.includes('"msg":"preview2-shim loaded"'));

  it("KV writes, reads, scans, metrics and a 404 never load it", async () => {
    const node = await startNode("node");
    try {
      for (let i = 0; i < 5; i++) expect((await fetch(`${node.url}/v1/kv/k${i}`, { method: "PUT", body: `v${i}` })).status).toBe(200);
      expect(await (await fetch(`${node.url}/v1/kv/k3`)).text()).toBe("v3");
      expect((await fetch(`${node.url}/v1/kv?prefix=k&limit=2`)).status).toBe(200);
      expect((await fetch(`${node.url}/v1/kv/missing`)).status).toBe(404);
      expect((await fetch(`${node.url}/_keel/metrics`)).status).toBe(401);
      expect(shimLoads(node.output())).toEqual([]);
      // No worker thread: Node names a worker_threads thread "WorkerThread" (Linux /proc).
      expect(threadNames(node.proc.pid!)).not.toContain("WorkerThread");
    } finally {
      await node.stop();
    }
  });
});
