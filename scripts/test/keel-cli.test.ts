// The `keel` command's logic without a node: addresses, which token is sent, what each answer
// means for the exit code, and the renderers (tests/e2e/keel-cli.test.ts runs it against nodes).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { stripVTControlCharacters as plain } from "node:util";
import { describe, expect, it } from "vitest";
import { call, isLoopback, resolveTarget, resolveUrl, type Target } from "../keel/client.ts";
import { CliError, EXIT } from "../keel/errors.ts";
import * as render from "../keel/render.ts";
import { parseImported, parseReclaimed } from "../keel/local.ts";

describe("node address", () => {
  it.each([
    [undefined, {}, "http://127.0.0.1:8080"],
    [undefined, { KEEL_ADDR: "0.0.0.0:9000" }, "http://0.0.0.0:9000"],
    [undefined, { KEEL_ADDR: ":9000" }, "http://127.0.0.1:9000"],
    ["10.1.2.3:80", { KEEL_ADDR: "ignored:1" }, "http://10.1.2.3"],
    ["https://edge-7.example/keel/", {}, "https://edge-7.example/keel"],
    ["[::1]:8080", {}, "http://[::1]:8080"],
  ])("--url %j with %j → %s", (flag, env, want) => {
    expect(resolveUrl(flag, env as NodeJS.ProcessEnv)).toBe(want);
  });

  it.each(["ftp://x", "http://x?y=1", "http://[zz"])("refuses %j as a usage error", (bad) => {
    expect(() => resolveUrl(bad, {})).toThrow(expect.objectContaining({ exit: EXIT.USAGE }));
  });

  it("loopback addresses only", () => {
    expect(["http://127.0.0.1:1", "http://127.8.9.10", "http://localhost:8080", "http://[::1]:1"].every(isLoopback)).toBe(true);
    expect(["http://10.0.0.1", "http://edge.example", "http://0.0.0.0:1"].some(isLoopback)).toBe(false);
  });
});

describe("which token is sent", () => {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), "keel-cli-token-"));
  fs.mkdirSync(path.join(data, ".keel"));
  fs.writeFileSync(path.join(data, ".keel", "dev-secret"), "s3cret");
  const env = { KEEL_DATA: data } as NodeJS.ProcessEnv;

  it("--token, then KEEL_TOKEN, then one minted from the data dir for a local node", () => {
    expect(resolveTarget({ token: "a.b.c" }, { ...env, KEEL_TOKEN: "x.y.z" })).toMatchObject({ token: "a.b.c", tokenSource: "flag" });
    expect(resolveTarget({}, { ...env, KEEL_TOKEN: "x.y.z" })).toMatchObject({ token: "x.y.z", tokenSource: "env" });
    const minted = resolveTarget({}, env);
    expect(minted.tokenSource).toBe("minted");
    const claims = JSON.parse(Buffer.from(minted.token!.split(".")[1], "base64url").toString());
    expect(claims).toMatchObject({ sub: "keel-operator", scope: "read write admin mesh", iss: "keel-local", aud: "keel" });
    expect(claims.exp - claims.iat).toBe(300);
  });

  it("never mints for a node on another machine", () => {
    const t = resolveTarget({ url: "http://10.9.8.7:8080" }, env);
    expect(t).toMatchObject({ tokenSource: "none" });
    expect(t.token).toBeUndefined();
    expect(t.noToken).toMatch(/not on this machine/);
  });

  it("no dev secret: no token, and the reason kept for the 401 message", () => {
    const t = resolveTarget({ data: path.join(data, "missing") }, {});
    expect(t).toMatchObject({ tokenSource: "none" });
    expect(t.noToken).toMatch(/no token could be made from .*missing/);
  });

  it("--timeout must be a positive number of seconds", () => {
    expect(resolveTarget({ timeout: "2.5", token: "t" }, {}).timeoutMs).toBe(2500);
    expect(() => resolveTarget({ timeout: "0" }, {})).toThrow(CliError);
  });
});

describe("answers and exit codes", () => {
  const target: Target = { url: "http://127.0.0.1:1", token: "t", tokenSource: "flag", timeoutMs: 1000 };
  const answering = (status: number, body: unknown, type = "application/json"): typeof fetch =>
    (async () => new Response(typeof body === "string" ? body : JSON.stringify(body), { status, headers: { "content-type": type } })) as typeof fetch;
  const failing = (code: string): typeof fetch => (async () => {
    throw Object.assign(new TypeError("fetch failed"), { cause: { code } });
  }) as typeof fetch;

  it("2xx: the parsed body", async () => {
    const a = await call(target, "GET", "/x", undefined, answering(200, { ok: 1 }));
    expect(a).toMatchObject({ status: 200, body: { ok: 1 } });
    expect((await call(target, "GET", "/m", undefined, answering(200, "# HELP a b\n", "text/plain"))).body).toBe("# HELP a b\n");
  });

  it.each([
    [401, { error: "unauthenticated", message: "token expired" }, EXIT.AUTH, /401 token expired \(the --token token was refused\)/],
    [403, { error: "forbidden", message: "token lacks scope admin" }, EXIT.AUTH, /403 token lacks scope admin/],
    [501, { error: "not_implemented", message: "/_keel/mesh/status is not available" }, EXIT.UNAVAILABLE, /not available on this node yet \(501: /],
    [404, { error: "not_found", message: "no route" }, EXIT.FAILED, /404 no route/],
    [500, "boom", EXIT.FAILED, /500 boom/],
  ])("%i → exit %#", async (status, body, exit, message) => {
    const err = await call(target, "GET", "/_keel/x?y=1", undefined, answering(status, body, typeof body === "string" ? "text/plain" : "application/json")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect(err).toMatchObject({ exit, status });
    expect((err as Error).message).toMatch(/^GET \/_keel\/x: /);
    expect((err as Error).message).toMatch(message);
  });

  it.each([["ECONNREFUSED", "connection refused"], ["ENOTFOUND", "host not found"], ["ECONNRESET", "connection reset"]])("%s → exit 3 (%s)", async (code, reason) => {
    const err = (await call(target, "GET", "/", undefined, failing(code)).catch((e: unknown) => e)) as CliError;
    expect(err).toMatchObject({ exit: EXIT.UNREACHABLE, code: "unreachable" });
    expect(err.message).toBe(`cannot reach http://127.0.0.1:1 (${reason}): is the node running? (--url or KEEL_ADDR)`);
  });
});

describe("rendering", () => {
  const TEXT = [
    "# HELP keel_http_requests_total Requests answered.",
    "# TYPE keel_http_requests_total counter",
    'keel_http_requests_total{class="read",status="200"} 7',
    'keel_http_requests_total{class="write",status="201"} 2',
    "# HELP keel_http_request_duration_seconds Time in the gateway.",
    "# TYPE keel_http_request_duration_seconds histogram",
    'keel_http_request_duration_seconds_bucket{class="read",le="0.001"} 5',
    'keel_http_request_duration_seconds_bucket{class="read",le="+Inf"} 7',
    'keel_http_request_duration_seconds_sum{class="read"} 0.014',
    'keel_http_request_duration_seconds_count{class="read"} 7',
    "# HELP keel_storage_keys Live keys.",
    "# TYPE keel_storage_keys gauge",
    "keel_storage_keys 3",
    "",
  ].join("\n");

  it("parses Prometheus text into families with their samples", () => {
    const fams = render.parseMetrics(TEXT);
    expect(fams.map((f) => [f.name, f.type, f.samples.length])).toEqual([
      ["keel_http_requests_total", "counter", 2],
      ["keel_http_request_duration_seconds", "histogram", 4],
      ["keel_storage_keys", "gauge", 1],
    ]);
    expect(fams[0].samples[0]).toEqual({ name: "keel_http_requests_total", labels: { class: "read", status: "200" }, value: 7 });
    expect(fams[1].help).toBe("Time in the gateway.");
  });

  it("a metrics table: one row per series, histograms as count and mean", () => {
    const out = plain(render.metrics(render.parseMetrics(TEXT)));
    expect(out).toMatch(/keel_http_requests_total\s+│ class=read status=200\s+│ 7 /);
    expect(out).toMatch(/keel_http_request_duration_seconds\s+│ class=read\s+│ 7 \(mean 2\.00 ms\)/);
    expect(out).not.toMatch(/_bucket/);
  });

  it("any JSON the mesh routes send: pairs, and lists of objects as tables", () => {
    const out = plain(render.generic({ enabled: true, node: "edge-1", peers: [{ id: "edge-2", url: "http://10.0.0.2:8080", state: "up" }] }));
    expect(out).toMatch(/enabled\s+│ true/);
    expect(out).toMatch(/peers\n┌/);
    expect(out).toMatch(/edge-2\s+│ http:\/\/10\.0\.0\.2:8080 │ up/);
    expect(render.generic([])).toMatch(/none/);
  });

  it("sizes, sync runs and the cli's lines", () => {
    expect([render.bytes(512), render.bytes(1536), render.bytes(5 * 1024 ** 3)]).toEqual(["512 B", "1.50 KiB", "5.00 GiB"]);
    expect(plain(render.syncRun({ pushed_records: 3, pushed_batches: 1, bytes_sent: 100, bytes_raw: 300, pulled_versions: 0, error: null }))).toMatch(/^synced: pushed 3 records in 1 batches/);
    expect(parseImported("imported 2 keys and 5 records in 1 topics")).toEqual({ keys: 2, records: 5, topics: 1 });
    expect(parseReclaimed("reclaimed 4096 bytes")).toBe(4096);
  });
});
