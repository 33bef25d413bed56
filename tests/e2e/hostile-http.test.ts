// Hostile HTTP on both hosts, over raw sockets: a body shorter than its Content-Length, broken
// chunked encoding, a client that leaves while the response is written, and an If-Match that
// is not an entity-tag. None may trap the gateway (a trap throws away a reused instance), and
// the next request — on the same warm instance under wasmtime serve — must succeed.
import fs from "node:fs";
import net from "node:net";
import { parse } from "smol-toml";
import { DEFAULT_CONFIG } from "../../scripts/serve.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders, configVariant, startNode, tokenOf, type HostKind, type RunningNode } from "../helpers/nodes.ts";

const TRAP = /wasm trap|unreachable|never invoked|panicked/i;
const BIG = 6 * 1024 * 1024;
const DEFAULTS = parse(fs.readFileSync(DEFAULT_CONFIG, "utf8")) as { storage: Record<string, unknown> };

/** Send raw bytes, half-close if asked, and collect whatever comes back until the server closes. */
function raw(url: string, bytes: string, opts: { halfClose?: boolean; timeoutMs?: number } = {}): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    let got = "";
    const done = () => {
      socket.destroy();
      resolve(got);
    };
    socket.on("data", (d) => (got += d.toString("latin1")));
    socket.on("end", done);
    socket.on("error", done);
    socket.setTimeout(opts.timeoutMs ?? 5000, done);
    socket.write(bytes, () => {
      if (opts.halfClose) socket.end();
    });
  });
}

const statusOf = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);

async function abortsOf(node: RunningNode): Promise<number> {
  const text = await (await fetch(`${node.url}/_keel/metrics`, { headers: adminHeaders(node) })).text();
  return Number(/^keel_http_client_aborts_total (\d+)$/m.exec(text)?.[1] ?? 0);
}

describe.each<[string, HostKind, boolean]>([
  ["wasmtime serve", "wasmtime", false],
  ["wasmtime serve (edge-lite)", "wasmtime", true],
  ["Node host", "node", false],
])("hostile HTTP on %s", (_label, kind, lite) => {
  let node: RunningNode;
  beforeAll(async () => {
    // A 6 MiB value: more than the kernel buffers on both ends of a loopback connection can
    // take from a client that reads nothing, so writing it really meets the closed connection.
    const config = configVariant({ storage: { ...DEFAULTS.storage, max_value_bytes: BIG } });
    node = await startNode(kind, { lite, env: { KEEL_CONFIG: config } });
    expect((await fetch(`${node.url}/v1/kv/big`, { method: "PUT", body: new Uint8Array(BIG).fill(7) })).status).toBe(200);
  });
  afterAll(async () => {
    await node?.stop();
  });

  const stillServes = async () => {
    const put = await fetch(`${node.url}/v1/kv/after`, { method: "PUT", body: "ok" });
    expect(put.status).toBe(200);
    const get = await fetch(`${node.url}/v1/kv/after`);
    expect(await get.text()).toBe("ok");
    expect(node.output()).not.toMatch(TRAP);
  };

  it("a body shorter than its Content-Length: 400 or a quiet close, nothing stored, no trap", async () => {
    const res = await raw(node.url, "PUT /v1/kv/truncated HTTP/1.1\r\nhost: keel\r\ncontent-length: 100\r\n\r\nonly-this", { halfClose: true });
    expect([0, 400]).toContain(statusOf(res));
    expect((await fetch(`${node.url}/v1/kv/truncated`)).status).toBe(404);
    await stillServes();
  });

  it("broken chunked encoding: 400, nothing appended, no trap", async () => {
    const res = await raw(node.url, "POST /v1/topics/hostile/records HTTP/1.1\r\nhost: keel\r\ntransfer-encoding: chunked\r\ncontent-type: text/plain\r\n\r\nZZ\r\nnot-hex-sized\r\n0\r\n\r\n");
    expect(statusOf(res)).toBe(400);
    const read = await (await fetch(`${node.url}/v1/topics/hostile/records`)).json() as { records: unknown[] };
    expect(read.records).toEqual([]);
    await stillServes();
  });

  it("a client that leaves while a 6 MiB response is written is counted, and the node stays usable", async () => {
    const before = await abortsOf(node);
    const { hostname, port } = new URL(node.url);
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve) => {
        const socket = net.connect(Number(port), hostname, () => socket.write("GET /v1/kv/big HTTP/1.1\r\nhost: keel\r\n\r\n"));
        // Mid-response: the first bytes arrived; read no more, then reset the connection.
        socket.once("data", () => {
          socket.pause();
          setTimeout(() => {
            socket.resetAndDestroy();
            resolve();
          }, 300);
        });
        socket.on("error", () => resolve());
      });
    }
    await stillServes();
    const deadline = Date.now() + 5000;
    let after = await abortsOf(node);
    while (after <= before && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      after = await abortsOf(node);
    }
    expect(after).toBeGreaterThan(before);
  });

  it("If-Match that is not an entity-tag: 400, the value unchanged", async () => {
    await fetch(`${node.url}/v1/kv/cas`, { method: "PUT", body: "one" });
    for (const bad of ["abc", '"unterminated', 'W/"weak"', '"a" "b"']) {
      const r = await fetch(`${node.url}/v1/kv/cas`, { method: "PUT", body: "two", headers: { "if-match": bad } });
      expect(r.status, bad).toBe(400);
      expect(((await r.json()) as { error: string }).error).toBe("bad_precondition");
    }
    expect(await (await fetch(`${node.url}/v1/kv/cas`)).text()).toBe("one");
  });

  it.runIf(lite)("edge-lite answers 501 for sync and still resolves applied versions (last-write-wins)", async () => {
    const status = await fetch(`${node.url}/_keel/sync/status`, { headers: adminHeaders(node) });
    expect(status.status).toBe(501);
    const put = await (await fetch(`${node.url}/v1/kv/lww`, { method: "PUT", body: "local" })).json() as { version: string };
    const wall = Number(put.version.split(".")[0]);
    const apply = (version: string, value: string) => fetch(`${node.url}/_keel/kv/apply`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokenOf(node, ["sync"])}`, "content-type": "application/json" },
      body: JSON.stringify({ versions: [{ key: "lww", version, origin: "edge", value_base64: Buffer.from(value).toString("base64") }] }),
    });
    expect((await apply(`${wall + 1000}.0.other-node`, "remote")).status).toBe(200);
    expect(await (await fetch(`${node.url}/v1/kv/lww`)).text()).toBe("remote");
    // An earlier version loses: last-write-wins, as the conflict component orders stamps.
    expect((await apply(`${wall - 1000}.0.zzz-node`, "stale")).status).toBe(200);
    expect(await (await fetch(`${node.url}/v1/kv/lww`)).text()).toBe("remote");
    expect(node.output()).not.toMatch(TRAP);
  });
});
