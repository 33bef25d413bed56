// mDNS discovery between Node host nodes: no static peers, only `discovery = "mdns"` and a
// cluster name; the nodes find each other by DNS-SD over real multicast, then replicate. Nodes
// of another cluster on the same network are ignored. Skipped, with the reason printed, only
// where this machine's network has no multicast (the probe below publishes and browses first).
import { createRequire } from "node:module";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configVariant, freePort, ROOT, startNode, type RunningNode } from "../helpers/nodes.ts";
import { mintToken } from "../../host/src/token.ts";

const SECRET = "mdns-test-secret-".padEnd(48, "x");
const token = (claims: Record<string, unknown>) => mintToken(SECRET, "local", { iss: "keel-local", aud: "keel", exp: Math.floor(Date.now() / 1000) + 3600, ...claims });
const ADMIN = { authorization: `Bearer ${token({ sub: "op", scope: "admin read write" })}` };
const cluster = `t${process.pid}${Date.now() % 100000}`;

/** Can this machine see its own mDNS announcements? */
async function multicastWorks(): Promise<boolean> {
  // The host's own copy of the library (the tests' package does not depend on it).
  type Browse = { publish(o: object): void; find(o: object, up: (s: { name: string }) => void): void; unpublishAll(): void; destroy(): void };
  const { Bonjour } = createRequire(path.join(ROOT, "host", "package.json"))("bonjour-service") as { Bonjour: new (o: object, e: () => void) => Browse };
  const b = new Bonjour({}, () => {});
  const name = `keel-probe-${process.pid}`;
  b.publish({ name, type: "keel-probe", port: 9 });
  try {
    return await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 4000);
      b.find({ type: "keel-probe" }, (s: { name: string }) => {
        if (s.name === name) {
          clearTimeout(t);
          resolve(true);
        }
      });
    });
  } finally {
    b.unpublishAll();
    b.destroy();
  }
}

async function start(id: string, clusterName: string): Promise<RunningNode> {
  const port = await freePort();
  return startNode("node", {
    port,
    env: {
      KEEL_JWT_SECRET: SECRET, KEEL_MESH_TOKEN: token({ sub: `node:${id}`, node: id, scope: "mesh" }),
      KEEL_CONFIG: configVariant({
        node: { id, role: "edge" },
        mesh: { enabled: true, discovery: "mdns", cluster: clusterName, url: `http://127.0.0.1:${port}`, token_env: "KEEL_MESH_TOKEN", replicated_prefixes: ["shared/"], gossip_interval_ms: 200 },
        rate_limit: { enabled: false },
      }),
    },
  });
}

const canMulticast = await multicastWorks();
if (!canMulticast) console.log("[mesh-mdns] skipped: this machine's network does not deliver mDNS multicast to itself");

describe.skipIf(!canMulticast)("mDNS discovery (Node host)", () => {
  const nodes: RunningNode[] = [];
  beforeAll(async () => {
    nodes.push(await start("d1", cluster), await start("d2", cluster), await start("other", `${cluster}x`));
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it("nodes of one cluster find each other with no static peers, and replicate", async () => {
    const [a, b, other] = nodes;
    const peersOf = async (n: RunningNode) => ((await (await fetch(`${n.url}/_keel/mesh/peers`, { headers: ADMIN })).json()) as { peers: { id: string; source: string }[] }).peers;
    const t0 = Date.now();
    for (;;) {
      const [pa, pb] = [await peersOf(a), await peersOf(b)];
      if (pa.some((p) => p.id === "d2" && p.source === "discovered") && pb.some((p) => p.id === "d1")) break;
      if (Date.now() - t0 > 20_000) throw new Error(`not discovered within 20 s: ${JSON.stringify({ pa, pb })}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    console.log(`[mesh-mdns] discovered in ${Date.now() - t0} ms`);
    expect((await fetch(`${a.url}/v1/kv/shared%2Ffound`, { method: "PUT", body: "by mdns" })).status).toBe(200);
    for (let i = 0; ; i++) {
      if ((await fetch(`${b.url}/v1/kv/shared%2Ffound`)).status === 200) break;
      if (i > 100) throw new Error("not replicated");
      await new Promise((r) => setTimeout(r, 100));
    }
    // Another cluster on the same network is not joined.
    expect((await peersOf(a)).some((p) => p.id === "other")).toBe(false);
    expect(await peersOf(other)).toEqual([]);
  });
});
