// Topic logs through the HTTP API and the cli, on both hosts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders, runCli, startNode, type HostKind, type RunningNode } from "../helpers/nodes.ts";

const post = (url: string, body: unknown) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe.each<HostKind>(["wasmtime", "node"])("topic logs on the %s host", (kind) => {
  let node: RunningNode;
  beforeAll(async () => {
    node = await startNode(kind);
  });
  afterAll(async () => {
    await node?.stop();
  });

  it("appends a batch and reads it back from an offset", async () => {
    const r = await post(`${node.url}/v1/topics/orders/records`, { records: ["a", "b", { base64: "AAEC/w==" }] });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ topic: "orders", offsets: [0, 1, 2] });
    const raw = await fetch(`${node.url}/v1/topics/orders/records`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: new Uint8Array([9, 9]) });
    expect((await raw.json()).offsets).toEqual([3]);
    const read = (await (await fetch(`${node.url}/v1/topics/orders/records?from=1&max=10`)).json()) as {
      records: { offset: number; value: string | null; value_base64: string; timestamp_ms: number }[];
      next: number;
    };
    expect(read.records.map((x) => x.offset)).toEqual([1, 2, 3]);
    expect(read.records[0].value).toBe("b");
    expect(read.records[1]).toMatchObject({ value: null, value_base64: "AAEC/w==" });
    expect(read.records[0].timestamp_ms).toBeGreaterThan(1.7e12);
    expect(read.next).toBe(4);
    expect(await (await fetch(`${node.url}/v1/topics`)).json()).toEqual({ topics: ["orders"] });
  });

  const rejects: [string, string, string, unknown, number, string][] = [
    ["topic with a space", "POST", "/v1/topics/a%20b/records", { records: ["x"] }, 400, "invalid_key"],
    ["topic over 128 chars", "POST", `/v1/topics/${"t".repeat(129)}/records`, { records: ["x"] }, 400, "invalid_key"],
    ["body that is not JSON", "POST", "/v1/topics/t/records", "{nope", 400, "bad_json"],
    ["records not a list", "POST", "/v1/topics/t/records", { records: "x" }, 400, "bad_batch"],
    ["a record that is a number", "POST", "/v1/topics/t/records", { records: [1] }, 400, "bad_batch"],
    ["bad base64", "POST", "/v1/topics/t/records", { records: [{ base64: "%%%" }] }, 400, "bad_batch"],
    ["too many records", "POST", "/v1/topics/t/records", { records: Array(10_001).fill("x") }, 413, "too_large"],
    ["negative from", "GET", "/v1/topics/t/records?from=-1", undefined, 400, "bad_offset"],
    ["max over 1000", "GET", "/v1/topics/t/records?max=5000", undefined, 400, "bad_limit"],
    ["wrong method", "DELETE", "/v1/topics/t/records", undefined, 405, "method_not_allowed"],
  ];

  it.each(rejects)("rejects %s", async (_n, method, path, body, status, code) => {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.headers = { "content-type": "application/json" };
      init.body = typeof body === "string" ? body : JSON.stringify(body);
    }
    const r = await fetch(`${node.url}${path}`, init);
    expect(r.status).toBe(status);
    expect(((await r.json()) as { error: string }).error).toBe(code);
  });

  it("a rejected batch appends nothing", async () => {
    await post(`${node.url}/v1/topics/atomic/records`, { records: ["ok"] });
    await post(`${node.url}/v1/topics/atomic/records`, { records: ["fine", 7] });
    const read = (await (await fetch(`${node.url}/v1/topics/atomic/records`)).json()) as { records: unknown[] };
    expect(read.records).toHaveLength(1);
  });

  it("serves Prometheus metrics and resources", async () => {
    const m = await fetch(`${node.url}/_keel/metrics`, { headers: adminHeaders(node) });
    expect(m.headers.get("content-type")).toMatch(/^text\/plain/);
    const body = await m.text();
    expect(body).toMatch(/^keel_storage_used_bytes \d+$/m);
    expect(body).toMatch(/^keel_storage_topics [1-9]\d*$/m);
    const res = (await (await fetch(`${node.url}/_keel/resources`, { headers: adminHeaders(node) })).json()) as Record<string, unknown>;
    expect(res).toMatchObject({ max_bytes: 0, eviction: "oldest", max_value_bytes: 1048576 });
  });

  it("the cli tails, verifies and exports what HTTP appended", async () => {
    const tail = await runCli("wasmtime", node.dataDir, ["tail", "orders", "0", "2"]);
    expect(tail.stdout.split("\n").filter(Boolean).map((l) => l.split("\t")[2])).toEqual(["a", "b"]);
    const verify = await runCli("wasmtime", node.dataDir, ["verify"]);
    expect(verify).toMatchObject({ code: 0, stdout: "ok: every checksum matches\n" });
    const exp = await runCli("jco", node.dataDir, ["export"]);
    expect(exp.stdout).toContain('"topic":"orders","offset":3');
  });
});
