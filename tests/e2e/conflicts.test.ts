// Conflict resolution through HTTP, as sync and mesh will drive it: versions from other nodes
// applied with POST /_keel/kv/apply (a node credential), the conflict log, metrics, keep-both
// siblings, and merge plug-ins dropped in on both hosts — including ones that misbehave.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, NODE, WASMTIME, configVariant, startNode, tokenOf, UNLIMITED, type HostKind, type RunningNode } from "../helpers/nodes.ts";
import { componentFile, skipUnbuilt } from "../helpers/merge-plugin.ts";

const run = promisify(execFile);
const b64 = (s: string) => Buffer.from(s).toString("base64");
const PLUGINS = path.join(ROOT, "dist", "components");

interface Remote {
  key: string;
  version: string;
  origin?: "edge" | "cloud";
  /** Versions it superseded on its node. */
  replaces?: string[];
  value: string | null;
}

async function apply(node: RunningNode, versions: Remote[]): Promise<{ status: number; body: { results?: { key: string; outcome: string }[]; error?: string } }> {
  const r = await fetch(`${node.url}/_keel/kv/apply`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${tokenOf(node, ["sync"])}` },
    body: JSON.stringify({ versions: versions.map((v) => ({ key: v.key, version: v.version, origin: v.origin ?? "edge", value_base64: v.value === null ? null : b64(v.value), ...(v.replaces ? { replaces: v.replaces } : {}) })) }),
  });
  const text = await r.text();
  // A trapped request gets wasmtime's own error page, not JSON.
  return { status: r.status, body: r.headers.get("content-type") === "application/json" ? JSON.parse(text) : {} };
}

const admin = (node: RunningNode) => ({ authorization: `Bearer ${tokenOf(node)}` });

async function conflicts(node: RunningNode): Promise<Record<string, unknown>[]> {
  return ((await (await fetch(`${node.url}/_keel/conflicts?max=1000`, { headers: admin(node) })).json()) as { conflicts: Record<string, unknown>[] }).conflicts;
}

async function metric(node: RunningNode, name: string): Promise<number> {
  const m = await (await fetch(`${node.url}/_keel/metrics`, { headers: admin(node) })).text();
  return Number(new RegExp(`^${name} (\\d+)$`, "m").exec(m)?.[1] ?? 0);
}

const RULES = {
  ...UNLIMITED,
  conflict: {
    default: "last-write-wins",
    fallback: "last-write-wins",
    rules: [
      { prefix: "both/", strategy: "keep-both" },
      { prefix: "first/", strategy: "first-write-wins" },
      { prefix: "cloud/", strategy: "cloud-wins" },
      { prefix: "counters/", strategy: "custom" },
      { prefix: "trap/", strategy: "custom" },
      { prefix: "big/", strategy: "custom" },
    ],
  },
};

describe.each<HostKind>(["wasmtime", "node"])("conflicts on the %s host", (kind) => {
  let node: RunningNode;
  beforeAll(async () => {
    node = await startNode(kind, { env: { KEEL_CONFIG: configVariant(RULES) } });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it("every write is stamped with a hybrid logical clock carrying the node id", async () => {
    const r = (await (await fetch(`${node.url}/v1/kv/stamped`, { method: "PUT", body: "x" })).json()) as { version: string; hlc: { wall_ms: number; counter: number; node: string } };
    expect(r.version).toMatch(/^\d+\.\d+\.edge-local$/);
    expect(r.hlc.node).toBe("edge-local");
    expect(Math.abs(r.hlc.wall_ms - Date.now())).toBeLessThan(60_000);
  });

  it("last-write-wins: a newer remote version replaces the local one, an older one is kept out, duplicates change nothing", async () => {
    await fetch(`${node.url}/v1/kv/doc`, { method: "PUT", body: "local" });
    const future = `${Date.now() + 3_600_000}.0.edge-b`;
    const res = await apply(node, [
      { key: "doc", version: future, value: "from edge-b" },
      { key: "doc", version: "1000.0.edge-c", value: "ancient" },
      { key: "doc", version: future, value: "from edge-b" },
    ]);
    expect(res.body.results!.map((r) => r.outcome)).toEqual(["took-remote", "kept-local", "duplicate"]);
    expect(await (await fetch(`${node.url}/v1/kv/doc`)).text()).toBe("from edge-b");
  });

  it("first-write-wins and cloud-wins follow their prefix rules; deletes are versions too", async () => {
    await apply(node, [{ key: "first/x", version: "2000.0.edge-a", value: "first" }, { key: "first/x", version: "3000.0.edge-b", value: "second" }]);
    expect(await (await fetch(`${node.url}/v1/kv/first%2Fx`)).text()).toBe("first");
    await apply(node, [{ key: "cloud/x", version: "2000.0.cloud-1", origin: "cloud", value: "cloud" }, { key: "cloud/x", version: "9000.0.edge-b", value: "edge" }]);
    expect(await (await fetch(`${node.url}/v1/kv/cloud%2Fx`)).text()).toBe("cloud");
    await apply(node, [{ key: "doc", version: `${Date.now() + 7_200_000}.0.edge-c`, value: null }]);
    expect((await fetch(`${node.url}/v1/kv/doc`)).status).toBe(404);
  });

  it("a version written over every local one (it lists them as superseded) is an update, not a conflict", async () => {
    // first/ is first-write-wins: a writer's second version used to lose to its own first one.
    const first = await apply(node, [{ key: "first/y", version: "2000.0.edge-a", value: "one" }, { key: "first/y", version: "3000.0.edge-a", value: "two", replaces: ["2000.0.edge-a"] }]);
    expect(first.body.results!.map((r) => r.outcome)).toEqual(["created", "updated"]);
    expect(await (await fetch(`${node.url}/v1/kv/first%2Fy`)).text()).toBe("two");
    // A rival (it supersedes something else) is still resolved by the strategy, and logged.
    const rival = await apply(node, [{ key: "first/y", version: "2500.0.edge-b", value: "rival", replaces: ["1.0.edge-b"] }]);
    expect(rival.body.results!.map((r) => r.outcome)).toEqual(["took-remote"]);
    expect((await conflicts(node)).filter((c) => c.key === "first/y").map((c) => c.outcome)).toEqual(["took-remote"]);
    const bad = await apply(node, [{ key: "first/y", version: "4000.0.edge-a", value: "x", replaces: [7 as unknown as string] }]);
    expect(bad.status).toBe(400);
    expect(await (await fetch(`${node.url}/v1/kv/first%2Fy`)).text()).toBe("rival");
  });

  it("keep-both keeps siblings (300 lists them) until a write resolves them", async () => {
    await apply(node, [{ key: "both/k", version: "5000.0.edge-a", value: "a" }, { key: "both/k", version: "6000.0.edge-b", value: "b" }]);
    const r = await fetch(`${node.url}/v1/kv/both%2Fk`);
    expect(r.status).toBe(300);
    const body = (await r.json()) as { siblings: { version: string; value_base64: string }[] };
    expect(body.siblings.map((s) => Buffer.from(s.value_base64, "base64").toString())).toEqual(["b", "a"]);
    const put = await fetch(`${node.url}/v1/kv/both%2Fk`, { method: "PUT", body: "resolved", headers: { "if-match": `"${body.siblings[1].version}"` } });
    expect(put.status).toBe(200);
    expect(await (await fetch(`${node.url}/v1/kv/both%2Fk`)).text()).toBe("resolved");
  });

  it("custom with merge-default: the plug-in declines, the fallback decides, and it is logged and counted", async () => {
    await apply(node, [{ key: "counters/c", version: "1000.0.edge-a", value: '{"edge-a":1}' }, { key: "counters/c", version: "2000.0.edge-b", value: '{"edge-b":2}' }]);
    expect(await (await fetch(`${node.url}/v1/kv/counters%2Fc`)).text()).toBe('{"edge-b":2}');
    const last = (await conflicts(node)).filter((c) => c.key === "counters/c").pop()!;
    expect(last).toMatchObject({ strategy: "last-write-wins", outcome: "took-remote" });
    expect(String(last.fallbackReason)).toMatch(/unmergeable/);
    expect(await metric(node, "keel_conflict_fallbacks_total")).toBeGreaterThan(0);
  });

  it("every resolution is in /_keel/conflicts and counted in /_keel/metrics", async () => {
    const log = await conflicts(node);
    expect(log.length).toBeGreaterThanOrEqual(5);
    expect(log[0]).toHaveProperty("local.version");
    expect(log[0]).toHaveProperty("remote.version");
    expect(await metric(node, "keel_conflict_resolutions_total")).toBe(log.length);
  });

  it.each([
    ["not JSON", "{nope"],
    ["no versions list", JSON.stringify({ v: [] })],
    ["a bad version stamp", JSON.stringify({ versions: [{ key: "k", version: "yesterday", origin: "edge", value_base64: null }] })],
    ["a bad origin", JSON.stringify({ versions: [{ key: "k", version: "1.0.x", origin: "moon", value_base64: null }] })],
    ["bad base64", JSON.stringify({ versions: [{ key: "k", version: "1.0.x", origin: "edge", value_base64: "***" }] })],
    ["a control character in a later key", JSON.stringify({ versions: [{ key: "k", version: "1.0.x", origin: "edge", value_base64: "eA==" }, { key: "bad\u0001key", version: "1.0.x", origin: "edge", value_base64: null }] })],
    ["a bad node id in a later stamp", JSON.stringify({ versions: [{ key: "k", version: "1.0.x", origin: "edge", value_base64: "eA==" }, { key: "k2", version: "1.0.no spaces", origin: "edge", value_base64: null }] })],
  ])("rejects a batch with %s (400) and applies nothing", async (_n, body) => {
    const r = await fetch(`${node.url}/_keel/kv/apply`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${tokenOf(node, ["sync"])}` }, body });
    expect(r.status).toBe(400);
    expect((await fetch(`${node.url}/v1/kv/k`)).status).toBe(404);
  });

  it("applies a batch of many keys in order, and a batch whose last value is too large applies none of it", async () => {
    const many = Array.from({ length: 40 }, (_, i) => ({ key: `many/${i}`, version: `${1_800_000_000_000 + i}.0.edge-m`, value: `v${i}` }));
    const r = await apply(node, [...many, { ...many[3], version: `${1_800_000_000_100}.0.edge-n`, value: "newer" }, many[5]]);
    expect(r.status).toBe(200);
    expect(r.body.results!.map((x) => x.outcome)).toEqual([...many.map(() => "created"), "took-remote", "duplicate"]);
    expect(await (await fetch(`${node.url}/v1/kv/many%2F3`)).text()).toBe("newer");
    expect(await (await fetch(`${node.url}/v1/kv/many%2F39`)).text()).toBe("v39");
    // Every version is checked before any is written: the storage limit on the last one refuses all.
    const big = await apply(node, [{ key: "whole/a", version: "1800000000000.0.edge-m", value: "a" }, { key: "whole/b", version: "1800000000000.0.edge-m", value: "x".repeat(1024 * 1024 + 1) }]);
    expect(big.status).toBe(413);
    expect((await fetch(`${node.url}/v1/kv/whole%2Fa`)).status).toBe(404);
  });

  it("applying versions needs a sync credential", async () => {
    const r = await fetch(`${node.url}/_keel/kv/apply`, { method: "POST", body: "{}" });
    expect(r.status).toBe(401);
  });
});

/**
 * composed.wasm with `plugin` in the merge slot (`pnpm compose --merge <plugin>`, into a temp
 * dir), precompiled as `pnpm serve` runs it: compiling at start-up takes 20–40 s on a busy
 * 2-core machine, past startNode's 30 s wait for /_keel/health.
 */
async function composedWith(plugin: string): Promise<string> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "keel-composed-"));
  await run(NODE, [path.join(ROOT, "scripts/build.ts"), "--merge", plugin, "--out", out], { cwd: ROOT });
  await run(WASMTIME, ["compile", "-o", path.join(out, "composed.cwasm"), path.join(out, "composed.wasm")]);
  return path.join(out, "composed.cwasm");
}
const PRECOMPILED = ["--allow-precompiled"];

describe("merge plug-ins, dropped in", () => {
  const trap = path.join(PLUGINS, "fixture-merge-trap.wasm");
  // The counter in TypeScript (QuickJS) and in C (clang, skipped when clang is not installed).
  const COUNTERS = ["merge-counter", "merge-counter-c"];

  it.for(COUNTERS)("the Node host loads %s from edge.toml (no rebuild) and merges with it", async (name, ctx) => {
    if (!fs.existsSync(componentFile(name))) return skipUnbuilt(ctx, name);
    const node = await startNode("node", { env: { KEEL_CONFIG: configVariant({ ...RULES, conflict: { ...RULES.conflict, plugin: componentFile(name) } }) } });
    try {
      await apply(node, [{ key: "counters/c", version: "1000.0.edge-a", value: '{"edge-a":3}' }, { key: "counters/c", version: "2000.0.edge-b", value: '{"edge-b":4}' }]);
      expect(JSON.parse(await (await fetch(`${node.url}/v1/kv/counters%2Fc`)).text())).toEqual({ "edge-a": 3, "edge-b": 4 });
      expect(node.output()).toMatch(/merge plug-in loaded/);
    } finally {
      await node.stop();
    }
  });

  it.for(COUNTERS)("pnpm compose --merge puts %s into composed.wasm for wasmtime serve", { timeout: 180_000 }, async (name, ctx) => {
    if (!fs.existsSync(componentFile(name))) return skipUnbuilt(ctx, name);
    const node = await startNode("wasmtime", { artifact: await composedWith(componentFile(name)), wasmtimeArgs: PRECOMPILED, env: { KEEL_CONFIG: configVariant(RULES) } });
    try {
      await apply(node, [{ key: "counters/c", version: "1000.0.edge-a", value: '{"edge-a":3}' }, { key: "counters/c", version: "2000.0.edge-b", value: '{"edge-b":4}' }]);
      expect(JSON.parse(await (await fetch(`${node.url}/v1/kv/counters%2Fc`)).text())).toEqual({ "edge-a": 3, "edge-b": 4 });
    } finally {
      await node.stop();
    }
  });

  it("a component that does not export keel:conflict/merge is rejected at compose time, by name", async () => {
    const err = await run(NODE, [path.join(ROOT, "scripts/build.ts"), "--merge", path.join(PLUGINS, "auth.wasm"), "--out", os.tmpdir()], { cwd: ROOT }).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/does not export keel:conflict\/merge@0\.1\.0/);
  });

  it("… and at load time by the Node host, which refuses to start", async () => {
    await expect(startNode("node", { env: { KEEL_CONFIG: configVariant({ conflict: { plugin: path.join(PLUGINS, "auth.wasm") } }) } })).rejects.toThrow(/does not export keel:conflict\/merge@0\.1\.0/);
    await expect(startNode("node", { env: { KEEL_CONFIG: configVariant({ conflict: { plugin: path.join(ROOT, "README.md") } }) } })).rejects.toThrow(/not a WebAssembly component/);
  });

  it("Node host: a plug-in that traps or returns garbage is contained; the fallback decides and the write is kept", async () => {
    const node = await startNode("node", { env: { KEEL_CONFIG: configVariant({ ...RULES, conflict: { ...RULES.conflict, plugin: trap } }) } });
    try {
      for (const key of ["trap/a", "big/a"]) {
        const res = await apply(node, [{ key, version: "1000.0.edge-a", value: "old" }, { key, version: "2000.0.edge-b", value: "new" }]);
        expect(res.status).toBe(200);
        expect(await (await fetch(`${node.url}/v1/kv/${encodeURIComponent(key)}`)).text()).toBe("new");
      }
      const log = await conflicts(node);
      expect(String(log.find((c) => c.key === "trap/a")?.fallbackReason)).toMatch(/trapped/);
      expect(String(log.find((c) => c.key === "big/a")?.fallbackReason)).toMatch(/limit/);
      expect(await metric(node, "keel_conflict_fallbacks_total")).toBe(2);
      // The plug-in is re-instantiated after the trap and still used.
      expect((await apply(node, [{ key: "trap/b", version: "1.0.edge-a", value: "x" }])).body.results![0].outcome).toBe("created");
    } finally {
      await node.stop();
    }
  });

  it("wasmtime serve: a trapping plug-in fails the request, the retry falls back; nothing is lost", { timeout: 180_000 }, async () => {
    const node = await startNode("wasmtime", { artifact: await composedWith(trap), wasmtimeArgs: PRECOMPILED, env: { KEEL_CONFIG: configVariant(RULES) } });
    try {
      await apply(node, [{ key: "trap/w", version: "1000.0.edge-a", value: "old" }]);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await apply(node, [{ key: "trap/w", version: "2000.0.edge-b", value: "new" }]);
        statuses.push(r.status);
        if (r.status === 200) break;
      }
      // A trap ends the request (500); after the second, the fallback decides without the plug-in.
      expect(statuses).toEqual([500, 500, 200]);
      expect(await (await fetch(`${node.url}/v1/kv/trap%2Fw`)).text()).toBe("new");
      expect(String((await conflicts(node)).find((c) => c.key === "trap/w")?.fallbackReason)).toMatch(/failed 2 times/);
      expect(await metric(node, "keel_conflict_fallbacks_total")).toBe(1);
    } finally {
      await node.stop();
    }
  });
});
