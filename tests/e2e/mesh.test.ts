// The mesh with real processes on loopback: three nodes (wasmtime serve and the Node host
// mixed), every link between them through its own fault proxy so a test can cut a node off.
// Writes on each node reach every node; concurrent writes to one key converge to the strategy's
// outcome; a partition with writes on both sides heals by itself; a node killed and restarted
// loses nothing and stores nothing twice; a late node catches up; bad credentials are refused.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { configVariant, freePort, startNode, type HostKind, type RunningNode } from "../helpers/nodes.ts";
import { startProxy, type FaultProxy } from "../helpers/proxy.ts";
import { mintToken } from "../../host/src/token.ts";

const SECRET = "mesh-test-secret-".padEnd(48, "x");
const now = () => Math.floor(Date.now() / 1000);
const token = (claims: Record<string, unknown>) => mintToken(SECRET, "local", { iss: "keel-local", aud: "keel", exp: now() + 3600, ...claims });
const ADMIN = { authorization: `Bearer ${token({ sub: "op", scope: "admin read write" })}` };
const MESH = { replicated_prefixes: ["shared/"], replicated_topics: ["events"], gossip_interval_ms: 200, suspect_timeout_ms: 1000, probe_timeout_ms: 2000 };

interface Member {
  id: string;
  kind: HostKind;
  port: number;
  node?: RunningNode;
  dataDir?: string;
  config: string;
}

class Mesh {
  members: Member[] = [];
  /** links[i][j]: the proxy node i reaches node j through. */
  links: FaultProxy[][] = [];
  private cron: NodeJS.Timeout | undefined;

  static async create(kinds: HostKind[], extra: { mesh?: Record<string, unknown>; rate_limit?: Record<string, unknown> } = {}): Promise<Mesh> {
    const peersOf = (i: number) => kinds.map((_, j) => j).filter((j) => j !== i);
    const m = new Mesh();
    const ports = await Promise.all(kinds.map(() => freePort()));
    for (let i = 0; i < kinds.length; i++) {
      m.links[i] = [];
      for (let j = 0; j < kinds.length; j++) m.links[i][j] = i === j ? (undefined as never) : await startProxy({ host: "127.0.0.1", port: ports[j] });
    }
    kinds.forEach((kind, i) => {
      const id = `m${i}`;
      const peers = peersOf(i).map((j) => ({ id: `m${j}`, url: m.links[i][j].url }));
      const config = configVariant({
        node: { id, role: "edge" },
        mesh: { enabled: true, url: `http://127.0.0.1:${ports[i]}`, peers, token_env: "KEEL_MESH_TOKEN", ...MESH, ...extra.mesh },
        rate_limit: extra.rate_limit ?? { enabled: false },
      });
      m.members.push({ id, kind, port: ports[i], config });
    });
    await Promise.all(m.members.map((_, i) => m.start(i)));
    // wasmtime serve has no timers: a cron (here, the test) asks for rounds; gossip that
    // arrives from other nodes triggers rounds too.
    m.cron = setInterval(() => {
      for (const x of m.members) if (x.kind === "wasmtime" && x.node) fetch(`${x.node.url}/_keel/mesh/now`, { method: "POST", headers: ADMIN }).catch(() => {});
    }, 200);
    return m;
  }

  async start(i: number): Promise<RunningNode> {
    const x = this.members[i];
    x.node = await startNode(x.kind, {
      port: x.port, dataDir: x.dataDir,
      env: { KEEL_JWT_SECRET: SECRET, KEEL_CONFIG: x.config, KEEL_MESH_TOKEN: token({ sub: `node:${x.id}`, node: x.id, scope: "mesh" }) },
    });
    x.dataDir = x.node.dataDir;
    return x.node;
  }

  url(i: number): string {
    return this.members[i].node!.url;
  }

  /** Cut node i off from every other node (both directions), or heal it. */
  isolate(i: number, cut: boolean): void {
    for (let j = 0; j < this.members.length; j++) {
      if (j === i) continue;
      this.links[i][j].cut(cut);
      this.links[j][i].cut(cut);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.cron);
    await Promise.all(this.members.map((x) => x.node?.stop()));
    await Promise.all(this.links.flat().filter(Boolean).map((p) => p.close()));
  }
}

async function put(url: string, key: string, value: string): Promise<string> {
  const r = await fetch(`${url}/v1/kv/${encodeURIComponent(key)}`, { method: "PUT", body: value });
  expect(r.status).toBe(200);
  return r.headers.get("etag")!;
}

async function get(url: string, key: string): Promise<string | null> {
  const r = await fetch(`${url}/v1/kv/${encodeURIComponent(key)}`);
  return r.status === 200 ? r.text() : null;
}

async function append(url: string, records: string[]): Promise<void> {
  const r = await fetch(`${url}/v1/topics/events/records`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ records }) });
  expect(r.status).toBe(200);
}

/** Origin offsets of the `events` records node `url` holds from `origin`, in stored order. */
async function relayed(url: string, origin: string): Promise<number[]> {
  const out: number[] = [];
  for (let from = 0; ; ) {
    const page = (await (await fetch(`${url}/v1/topics/events--${origin}/records?from=${from}&max=1000`)).json()) as { records?: { value: string }[]; next: number };
    if (!page.records?.length) return out;
    out.push(...page.records.map((r) => (JSON.parse(r.value) as { o: number }).o));
    from = page.next;
  }
}

async function until(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await check()) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function status(url: string): Promise<{ peers: { id: string; state: string; last_seen_ms: number }[]; lags: { scope: string; peer: string; behind: number }[]; repaired: number; rounds: number; served: number }> {
  const r = await fetch(`${url}/_keel/mesh/status`, { headers: ADMIN });
  expect(r.status).toBe(200);
  return r.json() as never;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe.each<HostKind[]>([["wasmtime", "node", "wasmtime"], ["node", "wasmtime", "node"]])("a mesh of %s, %s, %s", (...kinds) => {
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await Mesh.create(kinds);
  });
  afterAll(async () => {
    await mesh?.stop();
  });

  it("converges after writes on each node: keys, and topic records once each with their origin", async () => {
    for (const i of range(3)) {
      await put(mesh.url(i), `shared/from-m${i}`, `value ${i}`);
      await put(mesh.url(i), `local/only-m${i}`, "not replicated");
      await append(mesh.url(i), range(5).map((n) => `m${i} record ${n}`));
    }
    const ms = await until("every node has every key and record", async () => {
      for (const i of range(3)) {
        for (const j of range(3)) {
          if ((await get(mesh.url(i), `shared/from-m${j}`)) !== `value ${j}`) return false;
          if (i !== j && (await relayed(mesh.url(i), `m${j}`)).length < 5) return false;
        }
      }
      return true;
    });
    console.log(`[mesh] ${kinds.join("/")}: converged in ${ms} ms`);
    for (const i of range(3)) {
      for (const j of range(3)) {
        if (i === j) continue;
        expect(await relayed(mesh.url(i), `m${j}`)).toEqual([0, 1, 2, 3, 4]);
        expect(await get(mesh.url(i), `local/only-m${j}`)).toBeNull();
      }
    }
    // The record itself arrived intact.
    const page = (await (await fetch(`${mesh.url(0)}/v1/topics/events--m1/records?from=2&max=1`)).json()) as { records: { value: string }[] };
    expect(atob((JSON.parse(page.records[0].value) as { b: string }).b)).toBe("m1 record 2");
    // Both peers alive (on a loaded machine an exchange may have timed out a moment ago).
    await until("m0 sees both peers alive", async () => (await status(mesh.url(0))).peers.every((p) => p.state === "alive"));
    const st = await status(mesh.url(0));
    expect(st.peers.map((p) => p.id).sort()).toEqual(["m1", "m2"]);
    expect(st.repaired).toBeGreaterThan(0);
    const metrics = await (await fetch(`${mesh.url(0)}/_keel/metrics`, { headers: ADMIN })).text();
    expect(metrics).toMatch(/^keel_mesh_peers\{state="(alive|suspect)"\} \d$/m);
    expect(metrics).toMatch(/^# TYPE keel_mesh_repaired_total counter$/m);
    expect(Number(/^keel_mesh_repaired_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(metrics).toMatch(/^keel_mesh_lag\{peer="m1",scope="kv"\} \d+$/m);
  });

  it("concurrent writes to one key converge on every node to the last writer's value", async () => {
    const etags = await Promise.all(range(3).map((i) => put(mesh.url(i), "shared/contended", `writer m${i}`)));
    // Last-write-wins: the highest version (wall clock, counter, node id) wins everywhere.
    const stamp = (e: string) => e.replace(/"/g, "").split(".");
    const cmp = (a: string, b: string) => {
      const [x, y] = [stamp(a), stamp(b)];
      return Number(x[0]) - Number(y[0]) || Number(x[1]) - Number(y[1]) || (x[2] < y[2] ? -1 : x[2] > y[2] ? 1 : 0);
    };
    const winner = range(3).sort((a, b) => cmp(etags[b], etags[a]))[0];
    await until("every node holds the winner", async () => {
      for (const i of range(3)) if ((await get(mesh.url(i), "shared/contended")) !== `writer m${winner}`) return false;
      return true;
    });
  });

  it("a partition with writes on both sides heals by itself and converges", async () => {
    mesh.isolate(2, true);
    await put(mesh.url(0), "shared/p-majority", "written on m0 during the partition");
    await put(mesh.url(2), "shared/p-minority", "written on m2 during the partition");
    await put(mesh.url(2), "shared/p-both", "m2's side");
    await new Promise((r) => setTimeout(r, 20));
    await put(mesh.url(0), "shared/p-both", "m0's side (later)");
    await append(mesh.url(2), ["m2 during the partition"]);
    await until("m0 marks m2 dead", async () => (await status(mesh.url(0))).peers.find((p) => p.id === "m2")?.state === "dead", 10_000);
    expect(await get(mesh.url(1), "shared/p-minority")).toBeNull();
    mesh.isolate(2, false);
    await until("the partition heals", async () => {
      for (const i of range(3)) {
        if ((await get(mesh.url(i), "shared/p-majority")) === null) return false;
        if ((await get(mesh.url(i), "shared/p-minority")) === null) return false;
        if ((await get(mesh.url(i), "shared/p-both")) !== "m0's side (later)") return false;
      }
      return (await relayed(mesh.url(0), "m2")).length === 6 && (await relayed(mesh.url(1), "m2")).length === 6;
    }, 25_000);
    await until("m0 sees m2 alive again", async () => (await status(mesh.url(0))).peers.find((p) => p.id === "m2")?.state === "alive");
  });

  it("a node killed mid-gossip and restarted loses nothing and stores nothing twice", async () => {
    const before = (await relayed(mesh.url(1), "m0")).length;
    const writing = (async () => {
      for (let n = 0; n < 10; n++) {
        await append(mesh.url(0), range(10).map((k) => `burst ${n}.${k}`));
        await put(mesh.url(0), `shared/burst-${n}`, `burst ${n}`);
        await new Promise((r) => setTimeout(r, 30));
      }
    })();
    await new Promise((r) => setTimeout(r, 150));
    await mesh.members[1].node!.stop("SIGKILL");
    await writing;
    await mesh.start(1);
    await until("the restarted node catches up", async () => (await relayed(mesh.url(1), "m0")).length >= before + 100 && (await get(mesh.url(1), "shared/burst-9")) === "burst 9", 20_000);
    for (const i of [1, 2]) {
      const offsets = await relayed(mesh.url(i), "m0");
      expect(offsets).toEqual(range(offsets.length)); // each origin offset once, in order
    }
  });
});

describe("mesh membership and credentials", () => {
  let mesh: Mesh;
  let late: RunningNode | undefined;
  beforeAll(async () => {
    mesh = await Mesh.create(["wasmtime", "node"]);
  });
  afterAll(async () => {
    await late?.stop();
    await mesh?.stop();
  });

  it("a node that joins late catches up, and the others learn of it", async () => {
    await put(mesh.url(0), "shared/early", "before the late node");
    await append(mesh.url(1), ["early record"]);
    const port = await freePort();
    const id = "late-1";
    late = await startNode("node", {
      port,
      env: {
        KEEL_JWT_SECRET: SECRET, KEEL_MESH_TOKEN: token({ sub: `node:${id}`, node: id, scope: "mesh" }),
        KEEL_CONFIG: configVariant({ node: { id, role: "edge" }, mesh: { enabled: true, url: `http://127.0.0.1:${port}`, peers: [{ id: "m0", url: mesh.url(0) }], token_env: "KEEL_MESH_TOKEN", ...MESH }, rate_limit: { enabled: false } }),
      },
    });
    await until("the late node has what was written before it came", async () => (await get(late!.url, "shared/early")) !== null && (await relayed(late!.url, "m1")).length === 1);
    await until("m1 learns of the late node through m0", async () => (await status(mesh.url(1))).peers.some((p) => p.id === id && p.state === "alive"));
    await put(late.url, "shared/late", "from the late node");
    await until("the late node's write reaches m1", async () => (await get(mesh.url(1), "shared/late")) !== null);
  });

  it("refuses gossip without a valid node credential, counts it, and changes nothing", async () => {
    const gossip = (headers: Record<string, string>, body: string) => fetch(`${mesh.url(0)}/_keel/mesh/gossip`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
    const valid = JSON.stringify({ v: 1, from: "intruder", url: "http://127.0.0.1:9", kv: { want: 0 }, topics: {}, members: [] });
    expect((await gossip({}, valid)).status).toBe(401);
    expect((await gossip({ authorization: "Bearer not.a.token" }, valid)).status).toBe(401);
    expect((await gossip({ authorization: `Bearer ${token({ sub: "reader", scope: "read" })}` }, valid)).status).toBe(403);
    const noNode = await gossip({ authorization: `Bearer ${token({ sub: "x", scope: "mesh" })}` }, valid);
    expect(noNode.status).toBe(403);
    expect(((await noNode.json()) as { error: string }).error).toBe("forbidden");
    const metrics = await (await fetch(`${mesh.url(0)}/_keel/metrics`, { headers: ADMIN })).text();
    expect(Number(/^keel_mesh_refused_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(4);
    expect((await status(mesh.url(0))).peers.some((p) => p.id === "intruder")).toBe(false);

    // A valid credential with a malformed or hostile message: 400, nothing stored.
    const peer = { authorization: `Bearer ${token({ sub: "node:m9", node: "m9", scope: "mesh" })}` };
    for (const body of ["{", "[]", '{"v":2}', '{"v":1,"kv":{"want":-1},"url":"","topics":{}}', '{"v":1,"kv":{"want":0},"url":"","topics":{"events":{"m1":"x"}}}', "x".repeat(100)]) {
      const r = await gossip(peer, body);
      expect(r.status, body.slice(0, 40)).toBe(400);
      expect(((await r.json()) as { error: string }).error).toBeTruthy();
    }
    // Oversized: 413, or the connection is closed before the client finished sending it.
    const huge = await gossip(peer, JSON.stringify({ pad: "y".repeat(11 * 1024 * 1024) })).then((r) => r.status, () => "closed");
    expect([413, "closed"]).toContain(huge);
    expect((await fetch(`${mesh.url(0)}/_keel/health`)).status).toBe(200);
  });

  it("join and leave check their input; static peers stay", async () => {
    const call = (path: string, body: string) => fetch(`${mesh.url(0)}/_keel/mesh/${path}`, { method: "POST", headers: { ...ADMIN, "content-type": "application/json" }, body });
    expect((await call("join", "not json")).status).toBe(400);
    expect((await call("join", JSON.stringify({ id: "bad id!", url: "http://127.0.0.1:1" }))).status).toBe(400);
    expect((await call("join", JSON.stringify({ id: "p1", url: "ftp://x" }))).status).toBe(400);
    expect((await call("join", JSON.stringify({ id: "m0", url: "http://127.0.0.1:1" }))).status).toBe(400); // itself
    expect((await call("join", JSON.stringify({ id: "p1", url: "http://127.0.0.1:1" }))).status).toBe(200);
    let peers = ((await (await fetch(`${mesh.url(0)}/_keel/mesh/peers`, { headers: ADMIN })).json()) as { peers: { id: string; source: string }[] }).peers;
    expect(peers.find((p) => p.id === "p1")?.source).toBe("joined");
    expect((await call("leave", JSON.stringify({ id: "p1" }))).status).toBe(200);
    expect((await call("leave", JSON.stringify({ id: "p1" }))).status).toBe(400);
    expect((await call("leave", JSON.stringify({ id: "m1" }))).status).toBe(400); // static
    peers = ((await (await fetch(`${mesh.url(0)}/_keel/mesh/peers`, { headers: ADMIN })).json()) as { peers: { id: string; source: string }[] }).peers;
    expect(peers.some((p) => p.id === "p1")).toBe(false);
    expect((await fetch(`${mesh.url(0)}/_keel/mesh/status`)).status).toBe(401);
    expect((await fetch(`${mesh.url(0)}/_keel/mesh/nope`, { headers: ADMIN })).status).toBe(403); // mesh class: node credentials only
  });
});

describe("mesh routes on a node without the mesh", () => {
  let node: RunningNode;
  afterEach(async () => {
    await node?.stop();
  });

  it("report the mesh off and refuse changes with a clear message on the composed build; 501 on edge-lite", async () => {
    node = await startNode("wasmtime", { env: { KEEL_JWT_SECRET: SECRET } });
    let r = await fetch(`${node.url}/_keel/mesh/status`, { headers: ADMIN });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ enabled: false, peers: [] });
    r = await fetch(`${node.url}/_keel/mesh/join`, { method: "POST", headers: ADMIN, body: JSON.stringify({ id: "p", url: "http://127.0.0.1:1" }) });
    expect(r.status).toBe(409);
    expect(((await r.json()) as { message: string }).message).toMatch(/not enabled/);
    expect((await fetch(`${node.url}/_keel/mesh/now`, { method: "POST", headers: ADMIN })).status).toBe(200);
    await node.stop();
    node = await startNode("wasmtime", { lite: true, env: { KEEL_JWT_SECRET: SECRET } });
    r = await fetch(`${node.url}/_keel/mesh/status`, { headers: ADMIN });
    expect(r.status).toBe(501);
  });
});

describe("rate limits shared across the mesh", () => {
  // A low rate, so the client asks for far more than any allowance however fast this machine is.
  const RATE = 3;
  const BURST = 15;
  const limits = { enabled: true, rules: { read: { rate: RATE, burst: BURST, key: "ip" }, write: { rate: 100, burst: 100, key: "ip" }, admin: { rate: 100, burst: 100, key: "subject" }, mesh: { rate: 1000, burst: 1000, key: "subject" } } };

  /** 120 GETs spread round-robin over the three nodes, as fast as they answer. */
  async function spread(mesh: Mesh): Promise<{ admitted: number; seconds: number }> {
    let admitted = 0;
    const t0 = Date.now();
    for (let n = 0; n < 120; n++) {
      const r = await fetch(`${mesh.url(n % 3)}/v1/kv/shared%2Fnothing`);
      await r.arrayBuffer();
      if (r.status !== 429) admitted++;
    }
    return { admitted, seconds: (Date.now() - t0) / 1000 };
  }

  it("a client spreading requests over three nodes gets one node's allowance: admitted ≤ (burst + rate·t)(1 + ε), ε ≤ 10%", async () => {
    const mesh = await Mesh.create(["wasmtime", "node", "wasmtime"], { rate_limit: limits });
    try {
      const { admitted, seconds } = await spread(mesh);
      const bound = BURST + RATE * seconds;
      const eps = admitted / bound - 1;
      console.log(`[mesh] shared limits: admitted ${admitted} of 120 in ${seconds.toFixed(2)} s over 3 nodes; bound ${bound.toFixed(1)}; ε = ${(eps * 100).toFixed(1)}%`);
      expect(eps).toBeLessThanOrEqual(0.1);
      expect(admitted).toBeGreaterThanOrEqual(BURST); // the burst is still there to use
    } finally {
      await mesh.stop();
    }
  });

  it("without sharing, the same client gets about three times the allowance (what sharing prevents)", async () => {
    const mesh = await Mesh.create(["wasmtime", "node", "wasmtime"], { rate_limit: limits, mesh: { shared_rate_limits: false } });
    try {
      const { admitted, seconds } = await spread(mesh);
      const bound = BURST + RATE * seconds;
      console.log(`[mesh] unshared limits: admitted ${admitted} of 120 in ${seconds.toFixed(2)} s over 3 nodes; one node's bound ${bound.toFixed(1)}`);
      expect(admitted).toBeGreaterThan(bound * 1.5);
    } finally {
      await mesh.stop();
    }
  });
});
