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
