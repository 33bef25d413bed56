// The `keel` operator command against real nodes (wasmtime serve and the Node host, and
// edge-lite): every remote command in human and --json form, the token it mints, the data-dir
// commands, and the one-line errors with their exit codes (unreachable, refused token, bad
// arguments, a mesh change on a node without the mesh).
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, NODE, ROOT, startNode, tempDataDir, type HostKind, type RunningNode } from "../helpers/nodes.ts";

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `keel …` as a person runs it (bin/keel.mjs), with no KEEL_* from the test's environment, and
 * without colour (no FORCE_COLOR either: with both set Node prints a warning on stderr).
 */
function keel(args: string[], env: Record<string, string> = {}, input?: string): Promise<Ran> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => (!k.startsWith("KEEL_") || k === "KEEL_TOOLS") && k !== "FORCE_COLOR"));
  return new Promise((resolve, reject) => {
    const p = spawn(NODE, [path.join(ROOT, "bin/keel.mjs"), ...args], { cwd: ROOT, env: { ...base, NO_COLOR: "1", ...env }, stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout!.on("data", (d) => (stdout += d));
    p.stderr!.on("data", (d) => (stderr += d));
    if (input !== undefined) p.stdin!.end(input);
    p.once("error", reject);
    p.once("exit", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

const json = (r: Ran) => JSON.parse(r.stdout) as Record<string, unknown>;

describe.each<HostKind>(["wasmtime", "node"])("keel against the %s host", (kind) => {
  let node: RunningNode;
  let env: Record<string, string>;
  beforeAll(async () => {
    node = await startNode(kind);
    // The node's address and data dir as an operator's shell would have them.
    env = { KEEL_ADDR: node.url.replace("http://", ""), KEEL_DATA: node.dataDir };
  });
  afterAll(async () => {
    await node?.stop();
  });

  it("health, human and --json", async () => {
    const human = await keel(["health"], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^ok  ${node.url}  version \\d+\\.\\d+\\.\\d+  \\d+ ms\\n$`));
    const machine = await keel(["health", "--json"], env);
    expect(json(machine)).toMatchObject({ url: node.url, status: "ok" });
  });

  it("resources, queue, sync status, conflicts with the token it mints from the data dir", async () => {
    await fetch(`${node.url}/v1/kv/cli-key`, { method: "PUT", body: "v" });
    const res = await keel(["resources", "--json"], env);
    expect(res.code, res.stderr).toBe(0);
    expect(json(res)).toMatchObject({ keys: 1, eviction: "oldest" });
    expect((await keel(["resources"], env)).stdout).toMatch(/keys\s+│ 1 /);
    expect(json(await keel(["queue", "--json"], env))).toEqual({ queue: [] });
    expect((await keel(["queue"], env)).stdout).toBe("nothing waiting to sync\n");
    expect(json(await keel(["sync", "status", "--json"], env))).toMatchObject({ enabled: false, role: "edge", paused: false });
    expect((await keel(["sync", "status"], env)).stdout).toMatch(/sync\s+│ disabled/);
    expect(json(await keel(["conflicts", "--json", "--max", "5"], env))).toEqual({ conflicts: [], next: 0 });
    expect((await keel(["conflicts"], env)).stdout).toBe("no conflicts (next offset 0)\n");
  });

  it("sync pause and resume; sync now says why it cannot run", async () => {
    expect(json(await keel(["sync", "pause", "--json"], env))).toEqual({ paused: true });
    expect(json(await keel(["sync", "status", "--json"], env)).paused).toBe(true);
    expect((await keel(["sync", "resume"], env)).stdout).toBe("sync resumed\n");
    const now = await keel(["sync", "now"], env);
    expect(now.code).toBe(1);
    expect(now.stdout).toMatch(/^sync failed: sync is not configured on this node/);
  });

  it("metrics as a table, as JSON families, and raw", async () => {
    const fams = json(await keel(["metrics", "--json"], env)).families as { name: string; type: string; help: string; samples: unknown[] }[];
    expect(fams.find((f) => f.name === "keel_storage_keys")).toMatchObject({ type: "gauge", samples: [{ value: 1 }] });
    expect((await keel(["metrics"], env)).stdout).toMatch(/keel_storage_keys\s+│\s+│ 1 /);
    expect((await keel(["metrics", "--raw"], env)).stdout).toMatch(/^# HELP /);
  });

  it("mesh commands call the mesh routes; on a node without [mesh] enabled a change is refused in one clear line", async () => {
    const st = await keel(["mesh", "status"], env);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/enabled\s+│\s+false/);
    expect((await keel(["mesh", "peers"], env)).code).toBe(0);
    expect(JSON.parse((await keel(["mesh", "status", "--json"], env)).stdout)).toMatchObject({ enabled: false, peers: [] });
    for (const args of [["mesh", "join", "edge-2", "http://127.0.0.1:9"], ["mesh", "leave", "edge-2"]]) {
      const r = await keel(args, env);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/^keel: POST \/_keel\/mesh\/\w+: 409 the mesh is not enabled on this node.*\n$/);
    }
  });

  it("token: what it mints the node accepts; a node credential carries the node id", async () => {
    const t = (await keel(["token", "--scope", "admin"], env)).stdout.trim();
    expect((await fetch(`${node.url}/_keel/resources`, { headers: { authorization: `Bearer ${t}` } })).status).toBe(200);
    const cred = json(await keel(["token", "--node", "edge-9", "--json"], env));
    expect(cred).toMatchObject({ sub: "node:edge-9", scopes: ["sync", "mesh", "read", "write", "admin"] });
    expect((await keel(["token", "--ttl", "0"], env)).code).toBe(2);
  });

  it("a token from --token or KEEL_TOKEN is sent instead; a bad one is one line and exit 4", async () => {
    const good = (await keel(["token"], env)).stdout.trim();
    const other = { ...env, KEEL_DATA: tempDataDir("no-secret") };
    expect((await keel(["resources", "--token", good], other)).code).toBe(0);
    expect((await keel(["resources"], { ...other, KEEL_TOKEN: good })).code).toBe(0);
    const bad = await keel(["resources", "--token", "not-a-jwt"], env);
    expect(bad.code).toBe(4);
    expect(bad.stderr).toMatch(/^keel: GET \/_keel\/resources: 401 .*\(the --token token was refused\)\n$/);
    const none = await keel(["resources"], other);
    expect(none.code).toBe(4);
    expect(none.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(none.stderr).toMatch(/no token could be made from/);
    const scoped = (await keel(["token", "--scope", "read"], env)).stdout.trim();
    const forbidden = await keel(["resources", "--token", scoped, "--json"], env);
    expect(forbidden.code).toBe(4);
    expect(JSON.parse(forbidden.stderr)).toMatchObject({ error: "forbidden", status: 403, exit: 4 });
  });

  it("export, import into a fresh dir, verify and compact over data dirs", async () => {
    await fetch(`${node.url}/v1/topics/cli-topic/records`, { method: "POST", body: "r1" });
    const dump = await keel(["export"], env);
    expect(dump.code, dump.stderr).toBe(0);
    const lines = dump.stdout.trim().split("\n").map((l) => JSON.parse(l) as { key?: string; topic?: string });
    expect(lines.some((l) => l.key === "cli-key")).toBe(true);
    expect(lines.some((l) => l.topic === "cli-topic")).toBe(true);
    const fresh = path.join(tempDataDir("import"), "copy");
    const file = path.join(fresh + "-dump.jsonl");
    fs.writeFileSync(file, dump.stdout);
    expect(json(await keel(["import", file, "--data", fresh, "--json"], env))).toEqual({ keys: 1, records: 1, topics: 1 });
    expect((await keel(["import", "--data", tempDataDir("stdin")], env, dump.stdout)).stdout).toBe("imported 1 keys and 1 records in 1 topics\n");
    expect(json(await keel(["verify", "--data", fresh, "--json"], env))).toEqual({ ok: true, problems: [] });
    expect((await keel(["verify"], env)).stdout).toBe("ok: every checksum matches\n");
    expect(json(await keel(["compact", "--data", fresh, "--json"], env))).toHaveProperty("reclaimed_bytes");
    const bad = await keel(["import", "--data", fresh], env, "not json\n");
    expect(bad).toMatchObject({ code: 1, stderr: "keel: import failed: line 1: not JSON; nothing was imported\n" });
  });
});

describe("keel: one clear line and an exit code when it cannot do what was asked", () => {
  it("an address nothing listens on: exit 3", async () => {
    const port = await freePort();
    const r = await keel(["health", "--url", `127.0.0.1:${port}`]);
    expect(r).toMatchObject({ code: 3, stdout: "" });
    expect(r.stderr).toBe(`keel: cannot reach http://127.0.0.1:${port} (connection refused): is the node running? (--url or KEEL_ADDR)\n`);
    const j = await keel(["queue", "--json"], { KEEL_ADDR: `127.0.0.1:${port}` });
    expect(JSON.parse(j.stderr)).toMatchObject({ error: "unreachable", exit: 3 });
  });

  it.each([
    [["nope"], /^keel: unknown command 'nope'/],
    [["health", "--bogus"], /^keel: unknown option '--bogus'/],
    [["mesh", "join", "only-id"], /^keel: missing required argument 'url'/],
    [["conflicts", "--max", "x"], /^keel: --max must be a whole number/],
    [["health", "--url", "ftp://x"], /^keel: "ftp:\/\/x": only http/],
    [["health", "--timeout", "-1"], /^keel: --timeout must be/],
    [["verify", "--data", "/nonexistent/keel"], /^keel: data dir \/nonexistent\/keel does not exist/],
  ])("bad arguments %j: exit 2", async (args, message) => {
    const r = await keel(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("a command group without its subcommand prints its help and exits 2", async () => {
    const r = await keel(["sync"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Usage: keel sync/);
  });

  it("--help and --version exit 0; --help lists the exit codes", async () => {
    const h = await keel(["--help"]);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/Exit codes: 0 ok/);
    expect((await keel(["--version"])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe("keel against edge-lite (no sync in the build)", () => {
  let node: RunningNode;
  beforeAll(async () => {
    node = await startNode("wasmtime", { lite: true });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it("sync commands exit 5 with the node's reason", async () => {
    const r = await keel(["queue"], { KEEL_ADDR: node.url.replace("http://", ""), KEEL_DATA: node.dataDir });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^keel: GET \/_keel\/sync\/queue: not available on this node yet \(501: sync is not part of this build \(edge-lite\)/);
  });
});
