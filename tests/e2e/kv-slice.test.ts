// The slice through every layer — HTTP → gateway → auth → rate-limit → storage → files — on
// both hosts, from the same table of cases. Each host is a real process on a loopback port.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders, runCli, startNode, type HostKind, type RunningNode } from "../helpers/nodes.ts";

const MiB = 1024 * 1024;

async function json(r: Response): Promise<Record<string, unknown>> {
  expect(r.headers.get("content-type")).toBe("application/json");
  return (await r.json()) as Record<string, unknown>;
}

/**
 * PUT with a chunked body (no content-length), so the gateway must stop reading itself.
 * A server may answer 413 and close while we are still sending; then the client sees EPIPE or
 * a reset instead of the response (status 0), which is a refusal too.
 */
function putChunked(url: string, total: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(url, { method: "PUT", headers: { "transfer-encoding": "chunked" } }, (res) => {
      answered = true;
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (answered) return;
      if (e.code === "EPIPE" || e.code === "ECONNRESET") resolve({ status: 0, body: "" });
      else reject(e);
    });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return req.once("drain", pump);
      }
      req.end();
    };
    pump();
  });
}

describe.each<HostKind>(["wasmtime", "node"])("KV slice on the %s host", (kind) => {
  let node: RunningNode;
  beforeAll(async () => {
    node = await startNode(kind);
  });
  afterAll(async () => {
    await node?.stop();
  });

  it("answers /_keel/health", async () => {
    const r = await fetch(`${node.url}/_keel/health`);
    expect(r.status).toBe(200);
    expect(await json(r)).toMatchObject({ status: "ok" });
  });

  it("PUT then GET returns the value, with the version as ETag", async () => {
    const put = await fetch(`${node.url}/v1/kv/greeting`, { method: "PUT", body: "hello edge" });
    expect(put.status).toBe(200);
    const { version } = (await json(put)) as { version: string };
    expect(put.headers.get("etag")).toBe(`"${version}"`);
    const get = await fetch(`${node.url}/v1/kv/greeting`);
    expect(get.status).toBe(200);
    expect(get.headers.get("etag")).toBe(`"${version}"`);
    expect(await get.text()).toBe("hello edge");
  });

  it("round-trips every byte value and keys with slashes and unicode", async () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const key = encodeURIComponent("sensors/zone-ä/温度");
    expect((await fetch(`${node.url}/v1/kv/${key}`, { method: "PUT", body: bytes })).status).toBe(200);
    const r = await fetch(`${node.url}/v1/kv/${key}`);
    expect(new Uint8Array(await r.arrayBuffer())).toEqual(bytes);
  });

  it("scans by prefix, in key order, a page at a time", async () => {
    for (const k of ["scan/b", "scan/a", "scan/c", "scanx"]) {
      await fetch(`${node.url}/v1/kv/${encodeURIComponent(k)}`, { method: "PUT", body: k });
    }
    const p1 = (await json(await fetch(`${node.url}/v1/kv?prefix=scan%2F&limit=2`))) as { entries: { key: string }[]; next_cursor: string };
    expect(p1.entries.map((e) => e.key)).toEqual(["scan/a", "scan/b"]);
    const p2 = (await json(await fetch(`${node.url}/v1/kv?prefix=scan%2F&limit=2&cursor=${encodeURIComponent(p1.next_cursor)}`))) as { entries: { key: string }[]; next_cursor: null };
    expect(p2.entries.map((e) => e.key)).toEqual(["scan/c"]);
    expect(p2.next_cursor).toBeNull();
  });

  it("compare-and-set with If-Match: stale version → 412, current version → 200", async () => {
    const v1 = ((await json(await fetch(`${node.url}/v1/kv/cas`, { method: "PUT", body: "one" }))) as { version: string }).version;
    const v2 = ((await json(await fetch(`${node.url}/v1/kv/cas`, { method: "PUT", body: "two" }))) as { version: string }).version;
    expect(v2).not.toBe(v1);
    const stale = await fetch(`${node.url}/v1/kv/cas`, { method: "PUT", body: "three", headers: { "if-match": `"${v1}"` } });
    expect(stale.status).toBe(412);
    expect((await json(stale)).error).toBe("version_mismatch");
    const ok = await fetch(`${node.url}/v1/kv/cas`, { method: "PUT", body: "three", headers: { "if-match": `"${v2}"` } });
    expect(ok.status).toBe(200);
    expect(await (await fetch(`${node.url}/v1/kv/cas`)).text()).toBe("three");
  });

  it("/_keel/resources counts the stored keys", async () => {
    const r = await fetch(`${node.url}/_keel/resources`, { headers: adminHeaders(node) });
    expect(r.status).toBe(200);
    const u = (await json(r)) as { keys: number; used_bytes: number };
    expect(u.keys).toBeGreaterThanOrEqual(1);
    expect(u.used_bytes).toBeGreaterThan(0);
  });

  it("a corrupt value file is a clear 500 for that key while the rest is served", async () => {
    await fetch(`${node.url}/v1/kv/will-rot`, { method: "PUT", body: "soon corrupt" });
    const file = path.join(node.dataDir, "kv", Buffer.from("will-rot").toString("hex"));
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 2] ^= 0x55;
    fs.writeFileSync(file, bytes);
    const r = await fetch(`${node.url}/v1/kv/will-rot`);
    expect(r.status).toBe(500);
    const err = await json(r);
    expect(err.error).toBe("corrupt");
    expect(String(err.message)).toContain("checksum");
    expect(await (await fetch(`${node.url}/v1/kv/greeting`)).text()).toBe("hello edge");
  });

  it("an update is written in place: the key keeps its file (storage README, 'Updates in place')", async () => {
    const file = path.join(node.dataDir, "kv", Buffer.from("in-place").toString("hex"));
    expect((await fetch(`${node.url}/v1/kv/in-place`, { method: "PUT", body: "first" })).status).toBe(200);
    const before = fs.statSync(file);
    for (const body of ["second", "third", ""]) {
      expect((await fetch(`${node.url}/v1/kv/in-place`, { method: "PUT", body })).status).toBe(200);
      expect(await (await fetch(`${node.url}/v1/kv/in-place`)).text()).toBe(body);
    }
    expect(fs.statSync(file).ino).toBe(before.ino);
    expect(fs.readFileSync(file).subarray(0, 4).toString()).toBe("KES1");
    // A value too big for the file's slots moves the key to a new file, and back in place after.
    const big = "b".repeat(4096);
    expect((await fetch(`${node.url}/v1/kv/in-place`, { method: "PUT", body: big })).status).toBe(200);
    const moved = fs.statSync(file).ino;
    expect(moved).not.toBe(before.ino);
    expect((await fetch(`${node.url}/v1/kv/in-place`, { method: "PUT", body: "small again" })).status).toBe(200);
    expect(fs.statSync(file).ino).toBe(moved);
    expect(await (await fetch(`${node.url}/v1/kv/in-place`)).text()).toBe("small again");
  });

  it("DELETE removes a key; a second DELETE is 404", async () => {
    await fetch(`${node.url}/v1/kv/gone`, { method: "PUT", body: "x" });
    expect((await fetch(`${node.url}/v1/kv/gone`, { method: "DELETE" })).status).toBe(204);
    expect((await fetch(`${node.url}/v1/kv/gone`)).status).toBe(404);
    expect((await fetch(`${node.url}/v1/kv/gone`, { method: "DELETE" })).status).toBe(404);
  });

  // Negative cases, named for what they reject: [name, method, path, body, status, error code]
  const rejects: [string, string, string, string | Uint8Array<ArrayBuffer> | undefined, number, string][] = [
    ["missing key", "GET", "/v1/kv/never-written", undefined, 404, "not_found"],
    ["unknown route", "GET", "/v2/nothing", undefined, 404, "not_found"],
    ["root path", "GET", "/", undefined, 404, "not_found"],
    ["empty key", "GET", "/v1/kv/", undefined, 400, "invalid_key"],
    ["malformed percent-encoding", "GET", "/v1/kv/%ZZ", undefined, 400, "invalid_key"],
    ["invalid UTF-8 in key", "PUT", "/v1/kv/%C3%28", "x", 400, "invalid_key"],
    ["control character in key", "PUT", "/v1/kv/a%01b", "x", 400, "invalid_key"],
    ["newline in key", "PUT", "/v1/kv/a%0Ab", "x", 400, "invalid_key"],
    ["DEL character in key", "GET", "/v1/kv/a%7Fb", undefined, 400, "invalid_key"],
    ["key over 512 bytes", "PUT", `/v1/kv/${"k".repeat(513)}`, "x", 400, "invalid_key"],
    ["method not allowed on a key", "POST", "/v1/kv/x", "x", 405, "method_not_allowed"],
    ["method not allowed on health", "DELETE", "/_keel/health", undefined, 405, "method_not_allowed"],
    ["bad scan limit", "GET", "/v1/kv?limit=0", undefined, 400, "bad_limit"],
    ["non-numeric scan limit", "GET", "/v1/kv?limit=lots", undefined, 400, "bad_limit"],
    ["malformed query", "GET", "/v1/kv?prefix=%E0%A4%A", undefined, 400, "bad_query"],
    ["value over 1 MiB", "PUT", "/v1/kv/big", new Uint8Array(MiB + 1), 413, "too_large"],
    ["path over 4 KiB", "GET", `/v1/kv/${"p".repeat(5000)}`, undefined, 414, "uri_too_long"],
  ];

  it.each(rejects)("rejects %s with a JSON error", async (_name, method, path, body, status, code) => {
    const r = await fetch(`${node.url}${path}`, { method, body });
    expect(r.status).toBe(status);
    const err = await json(r);
    expect(err.error).toBe(code);
    expect(typeof err.message).toBe("string");
  });

  it("accepts a value of exactly 1 MiB", async () => {
    const value = new Uint8Array(MiB).fill(7);
    expect((await fetch(`${node.url}/v1/kv/exact`, { method: "PUT", body: value })).status).toBe(200);
    expect((await (await fetch(`${node.url}/v1/kv/exact`)).arrayBuffer()).byteLength).toBe(MiB);
  });

  it("stops reading a chunked body past the limit with 413, and loses nothing", async () => {
    await fetch(`${node.url}/v1/kv/keep`, { method: "PUT", body: "kept" });
    const r = await putChunked(`${node.url}/v1/kv/keep`, 9 * MiB);
    if (r.status !== 0) {
      expect(r.status).toBe(413);
      expect(JSON.parse(r.body).error).toBe("too_large");
    }
    expect(await (await fetch(`${node.url}/v1/kv/keep`)).text()).toBe("kept");
  });

  it("keeps every value across a restart on the same data dir", async () => {
    await fetch(`${node.url}/v1/kv/durable`, { method: "PUT", body: `written on ${kind}` });
    await node.stop();
    node = await startNode(kind, { dataDir: node.dataDir });
    expect(await (await fetch(`${node.url}/v1/kv/durable`)).text()).toBe(`written on ${kind}`);
    expect(await (await fetch(`${node.url}/v1/kv/greeting`)).text()).toBe("hello edge");
  });

  it("the cli reads back what HTTP wrote (jco run and wasmtime run)", async () => {
    for (const runner of ["jco", "wasmtime"] as const) {
      const got = await runCli(runner, node.dataDir, ["get", "greeting"]);
      expect(got, got.stderr).toMatchObject({ code: 0, stdout: "hello edge\n" });
      const missing = await runCli(runner, node.dataDir, ["get", "never-written"]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('key "never-written" does not exist');
    }
  });
});
