// mDNS discovery between Node host nodes: no static peers, only `discovery = "mdns"` and a
// cluster name; the nodes find each other by DNS-SD over real multicast, then replicate. Nodes
// of another cluster on the same network are ignored. Skipped, with the reason printed, only
// where this machine's network has no multicast (the probe below publishes and browses first).
// A second test runs the nodes in two network namespaces it creates (ip netns, veth).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configVariant, freePort, NODE, NODE_HOST_ARGS, ROOT, startNode, tempDataDir, type RunningNode } from "../helpers/nodes.ts";
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

// The same across two network namespaces joined by a veth pair — separate network stacks, as
// two boards on a LAN — with no `[mesh] url`: each node is reached at the address its mDNS
// answer carries. Needs root for `ip netns`; skipped, with the reason printed, where refused.
const NS = [`keel${process.pid % 10000}a`, `keel${process.pid % 10000}b`];
const IPS = ["10.77.0.1", "10.77.0.2"];
function sh(cmd: string): string | null {
  const r = spawnSync("sh", ["-c", cmd], { encoding: "utf8" });
  return r.status === 0 ? null : (r.stderr || r.stdout || `exit ${r.status}`).trim();
}
function makeNamespaces(): string | null {
  const v = [`kv${process.pid % 10000}a`, `kv${process.pid % 10000}b`];
  return sh([
    `ip netns add ${NS[0]}`, `ip netns add ${NS[1]}`,
    `ip link add ${v[0]} type veth peer name ${v[1]}`,
    ...[0, 1].flatMap((i) => [
      `ip link set ${v[i]} netns ${NS[i]}`, `ip -n ${NS[i]} addr add ${IPS[i]}/24 dev ${v[i]}`,
      `ip -n ${NS[i]} link set ${v[i]} up`, `ip -n ${NS[i]} link set lo up`, `ip -n ${NS[i]} route add 224.0.0.0/4 dev ${v[i]}`,
    ]),
  ].join(" && "));
}
const nsRefused = makeNamespaces();
if (nsRefused) console.log(`[mesh-mdns] network-namespace test skipped: ${nsRefused.split("\n")[0]}`);

/** fetch from inside a namespace (the test's own process is outside both). */
function nsFetch(ns: string, url: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}): { status: number; body: string } {
  const js = `const r=await fetch(${JSON.stringify(url)},${JSON.stringify(init)});console.log(JSON.stringify({status:r.status,body:await r.text()}))`;
  const r = spawnSync("ip", ["netns", "exec", ns, NODE, "--input-type=module", "-e", js], { encoding: "utf8" });
  try {
    return JSON.parse(r.stdout) as { status: number; body: string };
  } catch {
    return { status: 0, body: r.stderr };
  }
}

describe.skipIf(!!nsRefused || !canMulticast)("mDNS discovery across network namespaces", () => {
  const procs: ChildProcess[] = [];
  afterAll(() => {
    for (const p of procs) p.kill("SIGTERM");
    sh(`ip netns del ${NS[0]}; ip netns del ${NS[1]}`);
  });

  it("two nodes in separate namespaces find each other by the address mDNS gives, and replicate", async () => {
    for (const i of [0, 1]) {
      const id = `ns${i}`;
      const config = configVariant({
        node: { id, role: "edge" },
        mesh: { enabled: true, discovery: "mdns", cluster, token_env: "KEEL_MESH_TOKEN", replicated_prefixes: ["shared/"], gossip_interval_ms: 200 },
        rate_limit: { enabled: false },
      });
      const p = spawn("ip", ["netns", "exec", NS[i], NODE, ...NODE_HOST_ARGS], {
        cwd: ROOT, stdio: "ignore",
        env: { ...process.env, KEEL_ADDR: `${IPS[i]}:8080`, KEEL_DATA: tempDataDir(`ns${i}`), KEEL_CONFIG: config, KEEL_JWT_SECRET: SECRET, KEEL_MESH_TOKEN: token({ sub: `node:${id}`, node: id, scope: "mesh" }) },
      });
      procs.push(p);
    }
    const t0 = Date.now();
    const peersOf = (i: number) => {
      const r = nsFetch(NS[i], `http://${IPS[i]}:8080/_keel/mesh/peers`, { headers: ADMIN });
      return r.status === 200 ? (JSON.parse(r.body) as { peers: { id: string; url: string }[] }).peers : []; // not up yet
    };
    while (!peersOf(0).some((p) => p.id === "ns1") || !peersOf(1).some((p) => p.id === "ns0")) {
      if (Date.now() - t0 > 40_000) throw new Error("not discovered across namespaces within 40 s");
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(peersOf(0).find((p) => p.id === "ns1")?.url).toBe(`http://${IPS[1]}:8080`);
    expect(nsFetch(NS[0], `http://${IPS[0]}:8080/v1/kv/shared%2Facross`, { method: "PUT", body: "from ns0" }).status).toBe(200);
    for (let i = 0; ; i++) {
      const r = nsFetch(NS[1], `http://${IPS[1]}:8080/v1/kv/shared%2Facross`);
      if (r.status === 200) {
        expect(r.body).toBe("from ns0");
        break;
      }
      if (i > 40) throw new Error("not replicated across namespaces");
      await new Promise((r) => setTimeout(r, 250));
    }
  });
});
