// Auth at the edge through HTTP on both hosts, with the default edge.toml (the one `npm start`
// uses): anonymous reads and writes, tokens for admin, sync and mesh, clear 401/403 answers.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "smol-toml";
import { configVariant, startNode, tokenOf, type HostKind, type RunningNode } from "../helpers/nodes.ts";
import { DEFAULT_CONFIG } from "../../scripts/serve.ts";
import { mintToken } from "../../host/src/token.ts";

/** An HS256 token with any header (mintToken writes a fixed one). */
function signed(secret: string, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const input = `${enc(header)}.${enc(claims)}`;
  return `${input}.${crypto.createHmac("sha256", secret).update(input).digest("base64url")}`;
}

describe.each<HostKind>(["wasmtime", "node"])("auth on the %s host (default edge.toml)", (kind) => {
  let node: RunningNode;
  let admin: string;
  beforeAll(async () => {
    node = await startNode(kind);
    admin = tokenOf(node);
  });
  afterAll(async () => {
    await node?.stop();
  });

  it("admin, sync and mesh routes refuse requests without a credential", async () => {
    for (const p of ["/_keel/metrics", "/_keel/resources", "/_keel/sync/status", "/_keel/mesh/peers"]) {
      const r = await fetch(`${node.url}${p}`);
      expect(r.status, p).toBe(401);
      expect(r.headers.get("www-authenticate")).toBe('Bearer realm="keel"');
      expect(((await r.json()) as { error: string }).error).toBe("unauthenticated");
    }
  });

  it("anonymous requests may read and write keys (anonymous_scopes)", async () => {
    expect((await fetch(`${node.url}/v1/kv/anon`, { method: "PUT", body: "x" })).status).toBe(200);
    expect((await fetch(`${node.url}/v1/kv/anon`)).status).toBe(200);
  });

  it("a token signed with the node's secret opens admin routes", async () => {
    const r = await fetch(`${node.url}/_keel/metrics`, { headers: { authorization: `Bearer ${admin}` } });
    expect(r.status).toBe(200);
  });

  it("a valid token without the scope gets 403 insufficient_scope", async () => {
    const t = tokenOf(node, ["read"]);
    const r = await fetch(`${node.url}/_keel/metrics`, { headers: { authorization: `Bearer ${t}` } });
    expect(r.status).toBe(403);
    expect(r.headers.get("www-authenticate")).toMatch(/error="insufficient_scope"/);
  });

  it("a sync credential reaches node-to-node routes but not operator routes", async () => {
    const t = { authorization: `Bearer ${tokenOf(node, ["sync", "mesh"])}` };
    // Past the scope check, pushing also needs a node claim, which this token lacks.
    const push = await fetch(`${node.url}/_keel/sync/push`, { method: "POST", headers: t, body: "{}" });
    expect(push.status).toBe(403); // the token carries no node claim
    expect((await fetch(`${node.url}/_keel/sync/status`, { headers: t })).status).toBe(403);
  });

  const secret = () => fs.readFileSync(path.join(node.dataDir, ".keel", "dev-secret"), "utf8").trim();
  const now = () => Math.floor(Date.now() / 1000);
  const hostile: [string, () => string][] = [
    ["alg none", () => `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify({ sub: "x", scope: "admin", exp: now() + 60 })).toString("base64url")}.`],
    ["a token signed with another secret", () => mintToken(crypto.randomBytes(32).toString("hex"), "local", { sub: "x", scope: "admin", iss: "keel-local", aud: "keel", exp: now() + 60 })],
    ["an expired token", () => mintToken(secret(), "local", { sub: "x", scope: "admin", iss: "keel-local", aud: "keel", exp: now() - 3600 })],
    ["the wrong audience", () => mintToken(secret(), "local", { sub: "x", scope: "admin", iss: "keel-local", aud: "elsewhere", exp: now() + 60 })],
    ["an unknown kid", () => mintToken(secret(), "other", { sub: "x", scope: "admin", iss: "keel-local", aud: "keel", exp: now() + 60 })],
    ["a token without exp (it would never expire)", () => mintToken(secret(), "local", { sub: "x", scope: "admin", iss: "keel-local", aud: "keel" })],
    ["a nested token (cty JWT)", () => signed(secret(), { alg: "HS256", typ: "JWT", kid: "local", cty: "JWT" }, { sub: "x", scope: "admin", iss: "keel-local", aud: "keel", exp: now() + 60 })],
    ["garbage", () => "not.a.jwt"],
    // Over max_token_bytes (8 KiB) but under HTTP header limits, so the component decides.
    ["an oversized token", () => "a".repeat(9_000)],
  ];

  it.each(hostile)("refuses %s with 401 invalid_token", async (_n, make) => {
    const r = await fetch(`${node.url}/_keel/metrics`, { headers: { authorization: `Bearer ${make()}` } });
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
  });

  it("a bad token on an open route is still refused (never silently anonymous)", async () => {
    const r = await fetch(`${node.url}/v1/kv/anon`, { headers: { authorization: "Bearer not.a.jwt" } });
    expect(r.status).toBe(401);
  });
});

describe.each<HostKind>(["wasmtime", "node"])("[auth] require_exp = false on the %s host", (kind) => {
  it("accepts a token without exp, still refuses an expired one", async () => {
    const doc = parse(fs.readFileSync(DEFAULT_CONFIG, "utf8")) as { auth: Record<string, unknown> };
    const node = await startNode(kind, { env: { KEEL_CONFIG: configVariant({ auth: { ...doc.auth, require_exp: false } }) } });
    try {
      const secret = fs.readFileSync(path.join(node.dataDir, ".keel", "dev-secret"), "utf8").trim();
      const get = (t: string) => fetch(`${node.url}/_keel/resources`, { headers: { authorization: `Bearer ${t}` } });
      expect((await get(mintToken(secret, "local", { sub: "x", scope: "admin", iss: "keel-local", aud: "keel" }))).status).toBe(200);
      expect((await get(mintToken(secret, "local", { sub: "x", scope: "admin", iss: "keel-local", aud: "keel", exp: Math.floor(Date.now() / 1000) - 3600 }))).status).toBe(401);
    } finally {
      await node.stop();
    }
  });
});
