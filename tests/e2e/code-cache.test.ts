// The Node host's code cache (host/src/code-cache.ts) across real starts: the first start has
// none and writes one at listen; its first requests make it grow (written ~1 s later, with the
// lazily loaded `text` glue too); the next start's V8 takes every script's cache and answers the
// same way. A cache dir that cannot be written is a start without a cache.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { startNode, tempDataDir, tokenOf } from "../helpers/nodes.ts";

type State = { scripts: number; cached: number };
const listening = (out: string): State => {
  const line = out.split("\n").find((l) => l.includes('"keel node listening"'));
  if (!line) throw new Error(`no listening line in:\n${out}`);
  return (JSON.parse(line) as { code_cache: State }).code_cache;
};
const sizes = (dir: string) => Object.fromEntries(fs.readdirSync(dir).filter((f) => f.endsWith(".v8")).map((f) => [f.split("~")[0], fs.statSync(path.join(dir, f)).size]));

describe("Node host code cache", () => {
  it("is written at the first start, grows with the first requests, and is taken by the next start", async () => {
    const cache = tempDataDir("code-cache");
    const dataDir = tempDataDir("code-cache-data");
    const env = { KEEL_CODE_CACHE: cache };
    const a = await startNode("node", { env, dataDir });
    let afterRequests: Record<string, number>;
    try {
      // The bundle and the four eager components' glue, none cached yet.
      expect(listening(a.output())).toMatchObject({ scripts: 5, cached: 0, used: true });
      const atListen = sizes(cache);
      expect(Object.keys(atListen).sort()).toEqual(["auth.script.js", "gateway.script.js", "keel-node.cjs", "rate-limit.script.js", "storage.script.js"].sort());
      const auth = { authorization: `Bearer ${tokenOf(a)}` };
      expect((await fetch(`${a.url}/v1/kv/cc`, { method: "PUT", body: "v1", headers: auth })).ok).toBe(true);
      expect(await (await fetch(`${a.url}/v1/kv/cc`, { headers: auth })).text()).toBe("v1");
      const append = await fetch(`${a.url}/v1/topics/cc/records`, { method: "POST", body: JSON.stringify({ records: ["r1", "r2"] }), headers: { ...auth, "content-type": "application/json" } });
      expect(append.status).toBe(200);
      await new Promise((r) => setTimeout(r, 1_500));
      afterRequests = sizes(cache);
      // text (lazy, loaded by the append: the gateway encodes text records with it) is now
      // cached too, and the request path made the rest grow.
      expect(afterRequests["text.script.js"]).toBeGreaterThan(0);
      expect(afterRequests["gateway.script.js"]).toBeGreaterThan(atListen["gateway.script.js"]);
      expect(afterRequests["storage.script.js"]).toBeGreaterThan(atListen["storage.script.js"]);
    } finally {
      await a.stop();
    }
    const b = await startNode("node", { env, dataDir });
    try {
      expect(listening(b.output())).toMatchObject({ scripts: 5, cached: 5 });
      const auth = { authorization: `Bearer ${tokenOf(b)}` };
      expect(await (await fetch(`${b.url}/v1/kv/cc`, { headers: auth })).text()).toBe("v1");
    } finally {
      await b.stop();
    }
  }, 60_000);

  it("a cache dir that cannot be written is a start without a cache", async () => {
    const parent = tempDataDir("code-cache-file");
    fs.writeFileSync(path.join(parent, "file"), "not a dir");
    const n = await startNode("node", { env: { KEEL_CODE_CACHE: path.join(parent, "file", "cache") } });
    try {
      expect(listening(n.output())).toMatchObject({ scripts: 0, cached: 0, used: false });
      expect((await fetch(`${n.url}/_keel/health`)).status).toBe(200);
    } finally {
      await n.stop();
    }
  }, 60_000);
});
