// `pnpm bench storage [--seconds N] [--rounds N] [--max-bytes N]`: KV put (new keys), update (existing keys) and get ops/s and topic append msgs/s (one record per
// request, and batches of 100) through Keel's HTTP API under `wasmtime serve`, against SQLite
// (WAL, synchronous=FULL, behind the same HTTP routes) and NATS JetStream's file store
// (sync_interval: always), all measured in the same run on this machine. Prints ratios.
//
// `pnpm bench storage-scale [--max N]`: open + get and open + put latency under wasmtime serve
// (a fresh instance per request) on data dirs holding 10^3 … 10^6 keys, to show the curve.
//
// `pnpm bench cpu [--requests N]`: wasmtime's CPU time per request (steadier than req/s when
// other work shares the machine). `pnpm bench cpu-ab --a old.wasm --b new.wasm`: two builds of
// composed.wasm compared that way (scripts/bench-ab.ts).
//
// `pnpm bench merge`: the counter merge plug-in in TypeScript (merge-counter, QuickJS) against
// the same in C (merge-counter-c), in the same run: size, instantiation, and the cost of a merge
// called directly as the Node host calls it, and inside POST /_keel/kv/apply under wasmtime serve.
//
// Every run writes what it printed to scripts/bench/results/<benchmark>.json (`--json` prints
// it instead); `pnpm bench compare <old.json> <new.json>` shows two runs cell by cell; storage
// also draws scripts/bench/results/storage.svg (scripts/lib/bench-report.ts).
//
// Load comes from autocannon (a maintained HTTP benchmarking library) in this process.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import autocannon from "autocannon";
import { ROOT } from "./lib/project.ts";
import { ensureNats, natsUnavailable, NATS_VERSION } from "./lib/nats.ts";
import { info, step } from "./lib/progress.ts";
import { RESULTS, compare, ratioChart, saveResults, table } from "./lib/bench-report.ts";
import { cpuTimeMicros, seedBenchKeys } from "./lib/bench-node.ts";
import { startNode, freePort, tempDataDir, NODE, configVariant, UNLIMITED } from "../tests/helpers/nodes.ts";
import { NodeDir } from "@keel/wasi-dir/testing";
import { encodeRecord } from "../components/storage/src/record.ts";
import { fileName } from "../components/storage/src/keys.ts";
import { formatRun, INDEX_DIR, runName } from "../components/storage/src/key-index.ts";
import { encodeUtf8, toHex } from "@keel/bytes";

const args = process.argv.slice(2);
const opt = (name: string, d: number) => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return d;
  const n = Number(args[i + 1]);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`--${name} takes a number ≥ 0, not ${JSON.stringify(args[i + 1] ?? "")}`);
    process.exit(2);
  }
  return n;
};
const SECONDS = opt("seconds", 5);
const CONNECTIONS = opt("connections", 16);
const VALUE = "v".repeat(100);
const BATCH = 100;
const BIG_BATCH = 1000;

type Result = { name: string; rate: number; unit: string; p99: number };

async function cannon(name: string, url: string, unit: string, perRequest: number, request: () => { method: "GET" | "PUT" | "POST"; path: string; body?: string; headers?: Record<string, string> }): Promise<Result & { name: string }> {
  let r: autocannon.Result | undefined;
  await step(`  ${name} (${SECONDS} s, ${CONNECTIONS} connections)`, async () => {
    r = await autocannon({
      url, connections: CONNECTIONS, duration: SECONDS,
      requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, ...request() }) }],
    });
    return `${(r.requests.average * perRequest).toFixed(0)} ${unit}`;
  });
  if (r!.non2xx || r!.errors) info(`    warning: ${r!.non2xx} non-2xx responses, ${r!.errors} errors`);
  return { name, rate: (r!.requests.average * perRequest), unit, p99: r!.latency.p99 };
}

let seq = 0;
let updates = 0;
// "kv put" creates a key with every request; "kv update" rewrites the 1,000 keys the run seeded
// (an update in place in Keel, storage README "Updates in place"; the same INSERT OR REPLACE in SQLite).
const scenarios = (base: string) => [
  ["kv put", "ops/s", 1, () => ({ method: "PUT" as const, path: `/v1/kv/new-${seq++}`, body: VALUE })],
  ["kv update", "ops/s", 1, () => ({ method: "PUT" as const, path: `/v1/kv/bench-${updates++ % 1000}`, body: VALUE })],
  ["kv get", "ops/s", 1, () => ({ method: "GET" as const, path: `/v1/kv/bench-${Math.floor(Math.random() * 1000)}` })],
  ["append x1", "msgs/s", 1, () => ({ method: "POST" as const, path: `/v1/topics/bench/records`, body: JSON.stringify({ records: [VALUE] }), headers: { "content-type": "application/json" } })],
  [`append x${BATCH}`, "msgs/s", BATCH, () => ({ method: "POST" as const, path: `/v1/topics/bench/records`, body: JSON.stringify({ records: Array(BATCH).fill(VALUE) }), headers: { "content-type": "application/json" } })],
  [`append x${BIG_BATCH}`, "msgs/s", BIG_BATCH, () => ({ method: "POST" as const, path: `/v1/topics/bench/records`, body: JSON.stringify({ records: Array(BIG_BATCH).fill(VALUE) }), headers: { "content-type": "application/json" } })],
].map(([name, unit, per, req]) => ({ name: name as string, unit: unit as string, per: per as number, req: req as () => { method: "GET" | "PUT" | "POST"; path: string; body?: string }, base }));

async function httpTarget(label: string, url: string): Promise<Result[]> {
  info(`${label} at ${url}`);
  // Seed the keys the get scenario reads.
  await seedBenchKeys(url, VALUE);
  const out: Result[] = [];
  for (const s of scenarios(url)) out.push(await cannon(s.name, url, s.unit, s.per, s.req));
  return out;
}

async function natsTarget(): Promise<Result[]> {
  const why = natsUnavailable();
  if (why) {
    info(`skipping the NATS JetStream baseline: ${why}`);
    return [];
  }
  const bin = ensureNats(info);
  const dir = tempDataDir("nats");
  const port = await freePort();
  fs.writeFileSync(path.join(dir, "nats.conf"), `port: ${port}\nhost: 127.0.0.1\njetstream { store_dir: "${dir}", sync_interval: always }\n`);
  const proc = spawn(bin, ["-c", path.join(dir, "nats.conf")], { stdio: "ignore" });
  try {
    const { connect } = await import("@nats-io/transport-node");
    const { jetstream, jetstreamManager } = await import("@nats-io/jetstream");
    let nc;
    for (let i = 0; ; i++) {
      try {
        nc = await connect({ servers: `127.0.0.1:${port}` });
        break;
      } catch (e) {
        if (i > 50) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "bench", subjects: ["bench.>"], storage: "file" as never });
    const js = jetstream(nc);
    const data = new TextEncoder().encode(VALUE);
    info(`NATS JetStream ${NATS_VERSION} (file store, sync_interval: always) on 127.0.0.1:${port}`);
    const run = async (name: string, batch: number): Promise<Result> => {
      info(`  ${name} (${SECONDS} s, ${CONNECTIONS} concurrent publishers) …`);
      let msgs = 0;
      const lat: number[] = [];
      const end = Date.now() + SECONDS * 1000;
      await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
        while (Date.now() < end) {
          const t = performance.now();
          // NOTE: 16 publishers x 1000 in flight with sync always can take longer than the client's 5 s default.
          await Promise.all(Array.from({ length: batch }, () => js.publish("bench.x", data, { timeout: 60_000 })));
          lat.push(performance.now() - t);
          msgs += batch;
        }
      }));
      lat.sort((a, b) => a - b);
      return { name, rate: msgs / SECONDS, unit: "msgs/s", p99: lat[Math.floor(lat.length * 0.99)] ?? 0 };
    };
    const out = [await run("append x1", 1), await run(`append x${BATCH}`, BATCH), await run(`append x${BIG_BATCH}`, BIG_BATCH)];
    await nc.close();
    return out;
  } finally {
    proc.kill();
  }
}

async function keelStorageTarget(): Promise<Result[]> {
  // Storage throughput, not the limiter: rate limits off (their cost is `pnpm bench auth`).
  // `--max-bytes N` runs Keel with [storage] max_bytes = N, to see what a limit costs a write.
  const maxBytes = opt("max-bytes", 0);
  const keel = await startNode("wasmtime", { env: { KEEL_CONFIG: configVariant({ ...UNLIMITED, ...(maxBytes ? { storage: { max_bytes: maxBytes } } : {}) }) } });
  try {
    return await httpTarget(`Keel on wasmtime serve (composed.cwasm, instances reused as pnpm serve does${maxBytes ? `, max_bytes = ${maxBytes}` : ""})`, keel.url);
  } finally {
    await keel.stop();
  }
}

async function sqliteTarget(): Promise<Result[]> {
  const dir = tempDataDir("sqlite");
  const port = await freePort();
  const sqlite: ChildProcess = spawn(NODE, [path.join(ROOT, "scripts/bench/sqlite-server.ts"), String(port), dir], { stdio: "inherit" });
  try {
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      try { if ((await fetch(`${url}/_keel/health`)).ok) break; } catch { await new Promise((r) => setTimeout(r, 50)); }
    }
    return await httpTarget("SQLite WAL, synchronous=FULL (node:sqlite behind the same HTTP routes)", url);
  } finally {
    sqlite.kill();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * `--rounds N` (default 1): Keel, SQLite and NATS one after another, N times, each on a fresh
 * data dir. This machine's disk drifts within minutes (the same target measured twice in a row
 * has differed by 1.5x), so with several rounds each ratio is taken within its round and the
 * table shows the median (and the range) of those ratios, beside median rates.
 */
async function benchStorage(): Promise<void> {
  const ROUNDS = Math.max(1, Math.floor(opt("rounds", 1)));
  const rounds: { keel: Result[]; sqlite: Result[]; nats: Result[] }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (ROUNDS > 1) info(`round ${r + 1} of ${ROUNDS}`);
    rounds.push({ keel: await keelStorageTarget(), sqlite: await sqliteTarget(), nats: await natsTarget() });
  }
  const names = rounds[0].keel.map((k) => k.name);
  const rateOf = (list: Result[], name: string) => list.find((x) => x.name === name)?.rate;
  /** Per scenario: median rate of each target and the median and range of Keel's per-round ratio. */
  const summary = names.map((name) => {
    const per = (pick: (r: (typeof rounds)[number]) => Result[]) => rounds.map((r) => rateOf(pick(r), name)).filter((x): x is number => x !== undefined);
    const ratios = (pick: (r: (typeof rounds)[number]) => Result[]) => rounds.flatMap((r) => {
      const k = rateOf(r.keel, name);
      const b = rateOf(pick(r), name);
      return k !== undefined && b ? [k / b] : [];
    });
    const sq = ratios((r) => r.sqlite);
    const na = ratios((r) => r.nats);
    return {
      name, unit: rounds[0].keel.find((k) => k.name === name)!.unit,
      keel: median(per((r) => r.keel)), sqlite: median(per((r) => r.sqlite)), nats: per((r) => r.nats).length ? median(per((r) => r.nats)) : undefined,
      vsSqlite: median(sq), vsSqliteRange: [Math.min(...sq), Math.max(...sq)], vsNats: na.length ? median(na) : undefined,
      p99: median(rounds.map((r) => r.keel.find((k) => k.name === name)!.p99)),
      sqliteP99: median(rounds.flatMap((r) => r.sqlite.filter((k) => k.name === name).map((k) => k.p99))),
      natsP99: rounds.some((r) => r.nats.some((k) => k.name === name)) ? median(rounds.flatMap((r) => r.nats.filter((k) => k.name === name).map((k) => k.p99))) : undefined,
    };
  });
  const many = ROUNDS > 1;
  // p99 latency of each target at the same load (a request; for NATS one publish, or a batch's).
  const rows = [["scenario", "Keel", "SQLite", "Keel/SQLite", ...(many ? ["Keel/SQLite range"] : []), "NATS JS", "Keel/NATS", "Keel p99 ms", "SQLite p99 ms", "NATS p99 ms"]];
  for (const x of summary) {
    rows.push([`${x.name} (${x.unit})`, x.keel.toFixed(0), x.sqlite.toFixed(0), x.vsSqlite.toFixed(2), ...(many ? [`${x.vsSqliteRange[0].toFixed(2)}–${x.vsSqliteRange[1].toFixed(2)}`] : []), x.nats !== undefined ? x.nats.toFixed(0) : "-", x.vsNats !== undefined ? x.vsNats.toFixed(2) : "-", x.p99.toFixed(1), x.sqliteP99.toFixed(1), x.natsP99 !== undefined ? x.natsP99.toFixed(1) : "-"]);
  }
  table(`storage: ${SECONDS} s per scenario, ${CONNECTIONS} connections, ${many ? `medians of ${ROUNDS} rounds (ratios within each round)` : "same run"}`, rows);
  // Keel as a ratio of each baseline, per scenario: the chart the README links.
  fs.mkdirSync(RESULTS, { recursive: true });
  fs.writeFileSync(path.join(RESULTS, "storage.svg"), ratioChart(`Keel throughput ÷ baseline, same run${many ? `, median of ${ROUNDS} rounds` : ""} (${new Date().toISOString().slice(0, 10)})`, names, [
    { name: "vs SQLite WAL, synchronous=FULL", color: "#3b6ea5", values: summary.map((x) => x.vsSqlite) },
    { name: "vs NATS JetStream (sync always)", color: "#e08a2c", values: summary.map((x) => x.vsNats ?? null) },
  ]));
}

/** Write `n` keys straight into a data dir in Keel's file format, with its key index (setup, not the measurement). */
function populate(dataDir: string, n: number): void {
  const dir = new NodeDir(dataDir);
  dir.mkdirp("kv");
  dir.mkdirp(INDEX_DIR);
  const value = encodeUtf8(VALUE);
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const key = `key-${i}`;
    fs.writeFileSync(path.join(dataDir, "kv", fileName(encodeUtf8(key))), encodeRecord({ key, writtenAt: 1, parts: [{ version: `1.${i}`, origin: "edge", value }], replaced: [] }));
    names.push(toHex(encodeUtf8(key)));
    if (i && i % 100000 === 0) info(`    ${i} keys written`);
  }
  fs.writeFileSync(path.join(dataDir, INDEX_DIR, runName(0, 0)), formatRun(names));
  fs.writeFileSync(path.join(dataDir, INDEX_DIR, "built"), "");
}

async function benchScale(): Promise<void> {
  const max = opt("max", 1_000_000);
  const rows = [["keys", "get median ms", "get p99 ms", "put median ms", "put p99 ms", "scan 100 median ms", "scan 100 p99 ms"]];
  for (let n = 1000; n <= max; n *= 10) {
    const dataDir = tempDataDir(`scale-${n}`);
    info(`populating ${n} keys …`);
    populate(dataDir, n);
    // reuse 1: every request pays for opening the store in a fresh instance.
    const node = await startNode("wasmtime", { dataDir, reuse: 1, env: { KEEL_CONFIG: configVariant(UNLIMITED) } });
    const time = async (f: () => Promise<Response>) => {
      const t = performance.now();
      const r = await f();
      await r.arrayBuffer();
      if (!r.ok) throw new Error(`status ${r.status}`);
      return performance.now() - t;
    };
    const gets: number[] = [];
    const puts: number[] = [];
    const scans: number[] = [];
    for (let i = 0; i < 300; i++) {
      gets.push(await time(() => fetch(`${node.url}/v1/kv/key-${Math.floor(Math.random() * n)}`)));
      puts.push(await time(() => fetch(`${node.url}/v1/kv/new-${i}`, { method: "PUT", body: VALUE })));
      // A page of 100 from a random place: the keys after key-<d> (a tenth of the key space).
      if (i % 3 === 0) scans.push(await time(() => fetch(`${node.url}/v1/kv?prefix=key-${1 + Math.floor(Math.random() * 9)}&limit=100`)));
    }
    await node.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * p)].toFixed(2);
    rows.push([String(n), q(gets, 0.5), q(gets, 0.99), q(puts, 0.5), q(puts, 0.99), q(scans, 0.5), q(scans, 0.99)]);
  }
  table("open + get / put / scan (limit 100) under wasmtime serve (fresh instance per request, sequential):", rows);
}

/**
 * `pnpm bench auth`: what auth + rate limiting cost per request. The same GET under wasmtime
 * serve with both off, with an HS256 token and limits on, and (sequentially, a fresh token per
 * request so no cache helps) the price of one signature check per algorithm.
 */
async function benchAuth(): Promise<void> {
  const crypto = await import("node:crypto");
  const { mintToken } = await import("../host/src/token.ts");
  const keys = {
    RS256: crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }),
    ES256: crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }),
    EdDSA: crypto.generateKeyPairSync("ed25519"),
  };
  const secret = crypto.randomBytes(32).toString("hex");
  const auth = {
    mode: "jwt", issuer: "bench", audience: "keel", anonymous_scopes: [],
    keys: [
      { kid: "hs", alg: "HS256", secret_env: "KEEL_BENCH_SECRET" },
      ...Object.entries(keys).map(([alg, k]) => ({ kid: alg, alg, jwk: k.publicKey.export({ format: "jwk" }) })),
    ],
  };
  const limits = { enabled: true, rules: { read: { rate: 1e6, burst: 1e6, key: "subject" } } };
  const claims = (i: number) => ({ sub: `bench-${i}`, scope: "read write", iss: "bench", aud: "keel", exp: Math.floor(Date.now() / 1000) + 3600 });
  const sign = (alg: string, i: number) => {
    if (alg === "HS256") return mintToken(secret, "hs", claims(i));
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const input = `${enc({ alg, kid: alg })}.${enc(claims(i))}`;
    const k = keys[alg as keyof typeof keys].privateKey;
    const sig = alg === "RS256" ? crypto.sign("sha256", Buffer.from(input), k)
      : alg === "ES256" ? crypto.sign("sha256", Buffer.from(input), { key: k, dsaEncoding: "ieee-p1363" })
      : crypto.sign(null, Buffer.from(input), k);
    return `${input}.${sig.toString("base64url")}`;
  };
  const off = await startNode("wasmtime", { env: { KEEL_CONFIG: configVariant({ auth: { mode: "open" }, rate_limit: { enabled: false } }) } });
  const on = await startNode("wasmtime", { env: { KEEL_CONFIG: configVariant({ auth, rate_limit: limits }), KEEL_BENCH_SECRET: secret } });
  try {
    for (const n of [off, on]) await fetch(`${n.url}/v1/kv/k`, { method: "PUT", body: VALUE, headers: { authorization: `Bearer ${sign("HS256", 0)}` } });
    info("throughput (same token reused, as a client with a session would):");
    const token = sign("HS256", 1);
    const a = await cannon("auth and rate limit off", off.url, "req/s", 1, () => ({ method: "GET", path: "/v1/kv/k" }));
    const b = await cannon("HS256 token + rate limit", on.url, "req/s", 1, () => ({ method: "GET", path: "/v1/kv/k", headers: { authorization: `Bearer ${token}` } }));
    const seq = async (url: string, hdr: () => Record<string, string>, n = 40) => {
      const xs: number[] = [];
      for (let i = 0; i < n; i++) {
        const h = hdr();
        const t = performance.now();
        const r = await fetch(`${url}/v1/kv/k`, { headers: h });
        await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`status ${r.status}`);
        xs.push(performance.now() - t);
      }
      return xs.sort((x, y) => x - y)[Math.floor(n / 2)];
    };
    info("sequential latency, a fresh token per request (every request verifies a signature):");
    const base = await seq(off.url, () => ({}));
    const rows = [["configuration", "req/s (16 conn)", "median ms (sequential)", "added ms"]];
    rows.push([a.name, a.rate.toFixed(0), base.toFixed(2), "-"]);
    rows.push([`${b.name} (cached verify)`, b.rate.toFixed(0), (await seq(on.url, () => ({ authorization: `Bearer ${token}` }))).toFixed(2), ""]);
    rows[2][3] = (Number(rows[2][2]) - base).toFixed(2);
    let i = 100;
    for (const alg of ["HS256", "RS256", "ES256", "EdDSA"]) {
      info(`  ${alg} …`);
      const m = await seq(on.url, () => ({ authorization: `Bearer ${sign(alg, i++)}` }), alg === "HS256" ? 40 : 20);
      rows.push([`${alg}, new token each request`, "-", m.toFixed(2), (m - base).toFixed(2)]);
    }
    table("auth + rate limit, same request with both off and on", rows);
    table("throughput ratio with auth + rate limit (on ÷ off)", [["ratio", "value"], ["on/off", (b.rate / a.rate).toFixed(2)]]);
  } finally {
    await off.stop();
    await on.stop();
  }
}

/**
 * `pnpm bench sync`: records/s synced edge → cloud (both wasmtime serve on loopback) and bytes
 * on the wire per record, with and without compression and delta, and with the topic sealed end
 * to end (compression + delta; keys are not sealed), in the same run. The edge holds 2,000 topic
 * records of ~90 bytes and 200 keys written 4 times each. "cloud ms" is the sum of the cloud's
 * sync request durations from its own /_keel/metrics; the rest of the run is the edge and the wire.
 */
async function benchSync(): Promise<void> {
  const { mintToken } = await import("../host/src/token.ts");
  const { randomBytes } = await import("node:crypto");
  const secret = "bench-sync-secret".padEnd(48, "x");
  const now = Math.floor(Date.now() / 1000);
  const tok = (c: Record<string, unknown>) => mintToken(secret, "local", { iss: "keel-local", aud: "keel", exp: now + 3600, ...c });
  const admin = { authorization: `Bearer ${tok({ sub: "op", scope: "admin read write" })}` };
  const base = { enabled: true, interval_seconds: 3600, batch_size: 500, topics: [{ name: "events", direction: "edge_to_cloud" }], prefixes: [{ prefix: "k/", direction: "edge_to_cloud" }] };
  const rows = [["variant", "records/s", "bytes on the wire", "bytes/record", "batches", "cloud ms", "edge + wire ms"]];
  // The last two rows split the first one: its 2,000 records alone, and its keys alone.
  const variants = [
    ["compression + delta", true, true, false, false, "both"], ["delta only", false, true, false, false, "both"], ["compression only", true, false, false, false, "both"],
    ["neither", false, false, false, false, "both"], ["encrypted (end_to_end)", true, true, true, false, "both"], ["compression + delta, varied JSON events", true, true, false, true, "both"],
    ["compression + delta, records only", true, true, false, false, "records"], ["compression + delta, keys only", true, true, false, false, "keys"],
  ] as const;
  // Varied events: what a fleet of sensors sends (ids, floats, a few words), so compression has
  // less to find than in the repetitive records.
  const words = ["door", "open", "closed", "motion", "battery", "low", "ok", "aisle", "freezer", "alarm", "reset", "north", "south"];
  let rnd = 42;
  const next = () => (rnd = (rnd * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const event = (i: number) => JSON.stringify({
    id: `${Math.floor(next() * 0xffffffff).toString(16)}-${i.toString(36)}`, ts: 1790000000000 + Math.floor(next() * 1e9), device: `dev-${Math.floor(next() * 500)}`,
    temp: Math.round(next() * 4000 - 1000) / 100, humidity: Math.round(next() * 1000) / 10, tags: words.filter(() => next() < 0.2),
    msg: Array.from({ length: 2 + Math.floor(next() * 6) }, () => words[Math.floor(next() * words.length)]).join(" "),
  });
  for (const [label, compression, delta, e2e, varied, what] of variants) {
    info(`${label} …`);
    const sync = e2e ? { ...base, topics: [{ ...base.topics[0], end_to_end: true }] } : base;
    const cloud = await startNode("wasmtime", { env: { KEEL_JWT_SECRET: secret, KEEL_CONFIG: configVariant({ node: { id: "cloud-1", role: "cloud" }, sync, rate_limit: { enabled: false } }) } });
    const edge = await startNode("wasmtime", {
      env: {
        KEEL_JWT_SECRET: secret, KEEL_SYNC_TOKEN: tok({ sub: "node:bench", node: "bench", scope: "sync" }), KEEL_SYNC_KEYS: `k1:${randomBytes(32).toString("base64")}`,
        KEEL_CONFIG: configVariant({ node: { id: "bench", role: "edge" }, sync: { ...sync, cloud_url: cloud.url, token_env: "KEEL_SYNC_TOKEN", compression, delta, ...(e2e ? { encryption_key_env: "KEEL_SYNC_KEYS" } : {}) }, rate_limit: { enabled: false } }),
      },
    });
    try {
      await fetch(`${edge.url}/_keel/sync/pause`, { method: "POST", headers: admin });
      const step = (m: string) => info(`  ${m}`);
      for (let i = 0; what !== "keys" && i < 2000; i += 500) {
        await fetch(`${edge.url}/v1/topics/events/records`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ records: Array.from({ length: 500 }, (_, j) => (varied ? event(i + j) : `{"sensor":${(i + j) % 17},"reading":${i + j},"pad":"${"x".repeat(60)}"}`)) }) });
      }
      step("records written");
      for (let round = 0; what !== "records" && round < 4; round++) for (let k = 0; k < 200; k += 20) await Promise.all(Array.from({ length: 20 }, (_, j) => fetch(`${edge.url}/v1/kv/k%2F${k + j}`, { method: "PUT", body: varied ? event(round * 1000 + k + j) : `{"round":${round},"key":${k + j},"pad":"${"y".repeat(60)}"}`, signal: AbortSignal.timeout(60_000) })));
      step("keys written");
      await fetch(`${edge.url}/_keel/sync/resume`, { method: "POST", headers: admin });
      const t = performance.now();
      let sent = 0, records = 0, batches = 0;
      for (;;) {
        const r = (await (await fetch(`${edge.url}/_keel/sync/now`, { method: "POST", headers: admin, signal: AbortSignal.timeout(120_000) })).json()) as { pushed_records: number; bytes_sent: number; pushed_batches: number; error: string | null };
        step(`sync run: ${r.pushed_batches} batches`);
        if (r.error) throw new Error(r.error);
        sent += r.bytes_sent; records += r.pushed_records; batches += r.pushed_batches;
        if (!r.pushed_batches) break;
      }
      const secs = (performance.now() - t) / 1000;
      // The cloud's share: what its own metrics say its sync requests took (the rest is the edge's and the wire's).
      const metrics = await (await fetch(`${cloud.url}/_keel/metrics`, { headers: admin })).text();
      const cloudSecs = Number(/^keel_http_request_duration_seconds_sum\{class="sync"\} ([\d.e+-]+)$/m.exec(metrics)?.[1] ?? NaN);
      rows.push([label, (records / secs).toFixed(0), String(sent), (sent / records).toFixed(1), String(batches), (cloudSecs * 1000).toFixed(0), ((secs - cloudSecs) * 1000).toFixed(0)]);
    } finally {
      await edge.stop();
      await cloud.stop();
    }
  }
  table("edge → cloud, 2,000 records + 200 keys × 4 writes (records pushed counts each key version sent; ~90-byte records, varied: ~150-byte JSON events):", rows);
}

/**
 * `pnpm bench merge`. Node (jco, as the Node host runs plug-ins): load (compile + instantiate)
 * and first call, then µs per merge of two values of 3 and of 1,000 nodes. wasmtime serve: each
 * plug-in composed in (`pnpm compose --merge`), both nodes running side by side with their data
 * on tmpfs (so fsync noise does not drown the plug-in), 20 alternating rounds of one
 * /_keel/kv/apply of 200 versions that each need a merge (prefix `counters/`, strategy custom)
 * and one of 200 under last write wins (prefix `plain/`, no plug-in call). The difference per
 * version is what a custom merge adds there: the plug-in call plus Keel's guard around it (a
 * marker file written before the call, so a plug-in that kills the instance is retried and
 * then bypassed).
 */
async function benchMerge(): Promise<void> {
  const { gzipSync } = await import("node:zlib");
  const os = await import("node:os");
  const { loadMergePlugin, componentFile, whyNotBuilt } = await import("../tests/helpers/merge-plugin.ts");
  const { tokenOf } = await import("../tests/helpers/nodes.ts");
  const PLUGINS = ["merge-counter", "merge-counter-c"];
  for (const p of PLUGINS) if (!fs.existsSync(componentFile(p))) throw new Error(whyNotBuilt(p));
  const enc = (s: string) => new TextEncoder().encode(s);
  const counts = (nodes: number, k: number) => JSON.stringify(Object.fromEntries(Array.from({ length: nodes }, (_, i) => [`edge-${i}`, i * k])));
  const version = (value: string) => ({ stamp: { wallMs: 1, counter: 0, node: "edge-0" }, origin: "edge" as const, value: enc(value) });
  const perCall = (merge: () => unknown) => {
    for (let i = 0; i < 200; i++) merge();
    let n = 0;
    const t = performance.now();
    while (performance.now() - t < 1000) for (let i = 0; i < 50; i++, n++) merge();
    return ((performance.now() - t) * 1000) / n;
  };
  const rows = [["plug-in", "raw KB", "gzip KB", "composed.wasm MB", "Node: load ms", "first merge ms", "µs/merge 3 nodes", "µs/merge 1,000 nodes", "wasmtime: µs added per merge"]];
  for (const name of PLUGINS) {
    info(`${name}: Node (jco) …`);
    const bytes = fs.readFileSync(componentFile(name));
    let t = performance.now();
    const merge = loadMergePlugin(name)!;
    const load = performance.now() - t;
    const [small, big] = [[counts(3, 1), counts(3, 2)], [counts(1000, 1), counts(1000, 2)]].map(([a, b]) => [version(a), version(b)] as const);
    t = performance.now();
    merge("k", ...small);
    const first = performance.now() - t;
    const us3 = perCall(() => merge("k", ...small));
    const us1000 = perCall(() => merge("k", ...big));
    rows.push([name, (bytes.length / 1e3).toFixed(1), (gzipSync(bytes, { level: 9 }).length / 1e3).toFixed(1), "", load.toFixed(1), first.toFixed(2), us3.toFixed(1), us1000.toFixed(0), ""]);
  }

  const ROUNDS = 20, PER = 200;
  const config = configVariant({ ...UNLIMITED, conflict: { default: "last-write-wins", fallback: "last-write-wins", rules: [{ prefix: "counters/", strategy: "custom" }] } });
  const tmp = fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir();
  const nodes: Awaited<ReturnType<typeof startNode>>[] = [];
  try {
    for (const [i, name] of PLUGINS.entries()) {
      info(`${name}: composed into composed.wasm (pnpm compose --merge), started under wasmtime serve …`);
      const out = fs.mkdtempSync(path.join(os.tmpdir(), "keel-bench-merge-"));
      execFileSync(NODE, [path.join(ROOT, "scripts/build.ts"), "--merge", componentFile(name), "--out", out], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
      rows[i + 1][3] = (fs.statSync(path.join(out, "composed.wasm")).size / 1e6).toFixed(2);
      nodes.push(await startNode("wasmtime", { artifact: path.join(out, "composed.wasm"), dataDir: fs.mkdtempSync(path.join(tmp, "keel-bench-merge-")), env: { KEEL_CONFIG: config } }));
    }
    const apply = async (node: (typeof nodes)[number], prefix: string, round: number) => {
      const versions = Array.from({ length: PER }, (_, i) => ({ key: `${prefix}${i}`, version: `${1000 + round}.0.edge-${round % 7}`, origin: "edge", value_base64: Buffer.from(`{"edge-${round % 7}":${round}}`).toString("base64") }));
      const t0 = performance.now();
      const r = await fetch(`${node.url}/_keel/kv/apply`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${tokenOf(node, ["sync"])}` }, body: JSON.stringify({ versions }) });
      const { results } = (await r.json()) as { results: { outcome: string }[] };
      if (round > 0 && prefix === "counters/" && results.some((x) => x.outcome !== "merged")) throw new Error(`expected merges, got ${JSON.stringify(results[0])}`);
      return performance.now() - t0;
    };
    info(`${ROUNDS} rounds of ${PER} merges and ${PER} last-write-wins versions on each node …`);
    const diffs: number[][] = PLUGINS.map(() => []);
    for (let round = 0; round <= ROUNDS; round++) {
      for (const [i, node] of nodes.entries()) {
        const [c, p] = [await apply(node, "counters/", round), await apply(node, "plain/", round)];
        if (round > 0) diffs[i].push(((c - p) * 1000) / PER); // round 0 creates the keys: no merge
      }
    }
    for (const [i, d] of diffs.entries()) rows[i + 1][8] = d.sort((a, b) => a - b)[d.length >> 1].toFixed(0);
  } finally {
    for (const n of nodes) await n.stop();
  }
  table(`merge plug-ins, the same counter merge (${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}; wasmtime: median of ${ROUNDS} rounds of ${PER}):`, rows);
}

/**
 * `pnpm bench cpu [--requests N]`: CPU time the wasmtime serve process spends per request
 * (utime and stime from /proc), route by route, with auth and rate limits off, and GET with the
 * default edge.toml. Steadier than req/s on a machine other work shares: it counts only this
 * process. c1: one connection (one instance, warm); c16: sixteen.
 */
async function benchCpu(): Promise<void> {
  const n = opt("requests", 3000);
  const rows = [["request", "connections", "user µs/request", "system µs/request", "req/s"]];
  const batch = (k: number) => JSON.stringify({ records: Array(k).fill(VALUE) });
  const cases = [
    ["GET /_keel/health", "/_keel/health", 1, n, "GET", undefined],
    ["GET /v1/kv/k", "/v1/kv/k", 1, n, "GET", undefined],
    ["GET /v1/kv/k", "/v1/kv/k", 16, 2 * n, "GET", undefined],
    ["PUT /v1/kv/k (same key)", "/v1/kv/k", 1, n / 3, "PUT", VALUE],
    ["PUT /v1/kv/new-N (new keys)", "/v1/kv/new", 16, n, "PUT", VALUE],
    ["POST 1 record", "/v1/topics/t/records", 1, n / 3, "POST", batch(1)],
    ["POST 1 record", "/v1/topics/t/records", 16, n, "POST", batch(1)],
    ["POST 1000 records", "/v1/topics/t/records", 16, n / 20, "POST", batch(1000)],
  ] as const;
  for (const [label, cfg, only] of [["auth and rate limit off", { auth: { mode: "open" }, rate_limit: { enabled: false } }, undefined], ["default edge.toml", {}, "GET /v1/kv/k"]] as const) {
    const node = await startNode("wasmtime", { env: { KEEL_CONFIG: configVariant(cfg) } });
    try {
      const cpu = () => {
        const t = cpuTimeMicros(node.proc.pid!);
        return [t.user / 1000, t.system / 1000]; // ms
      };
      await fetch(`${node.url}/v1/kv/k`, { method: "PUT", body: VALUE });
      for (const [name, url, connections, amount, method, body] of cases) {
        if (only && name !== only) continue;
        let seq = 0;
        const run = (count: number) => autocannon({
          url: node.url + url, connections, amount: Math.round(count), method, body, headers: { "content-type": "application/json" },
          ...(url === "/v1/kv/new" ? { requests: [{ setupRequest: (q: autocannon.Request) => ({ ...q, path: `/v1/kv/new-${seq++}` }) }] } : {}),
        });
        await run(Math.min(300, amount));
        const c0 = cpu();
        let r: autocannon.Result | undefined;
        await step(`  ${label}: ${name}, ${connections} connection${connections > 1 ? "s" : ""}`, async () => {
          r = await run(amount);
        });
        const c1 = cpu();
        if (r!.non2xx) info(`    warning: ${r!.non2xx} non-2xx responses`);
        rows.push([`${name}${only ? " (default edge.toml)" : ""}`, String(connections), ((c1[0] - c0[0]) / amount * 1000).toFixed(0), ((c1[1] - c0[1]) / amount * 1000).toFixed(0), r!.requests.average.toFixed(0)]);
      }
    } finally {
      await node.stop();
    }
  }
  table("wasmtime serve, CPU per request:", rows);
}

const what = args.find((a) => !a.startsWith("--") && !/^\d+$/.test(a)) ?? "storage";
if (what === "compare") {
  const [a, b] = args.filter((x) => x.endsWith(".json"));
  if (!a || !b) {
    console.error("usage: pnpm bench compare <old results.json> <new results.json>");
    process.exit(2);
  }
  try {
    compare(a, b);
  } catch (e) {
    console.error(`bench compare: ${(e as Error).message}`);
    process.exit(1);
  }
  process.exit(0);
}
if (what === "storage") await benchStorage();
else if (what === "storage-scale") await benchScale();
else if (what === "auth") await benchAuth();
else if (what === "sync") await benchSync();
else if (what === "mesh") await (await import("./bench-mesh.ts")).benchMesh(args);
else if (what === "cloud") await (await import("./bench-cloud.ts")).benchCloud(args);
else if (what === "merge") await benchMerge();
else if (what === "cpu") await benchCpu();
else if (what === "cpu-ab") await (await import("./bench-ab.ts")).benchCpuAb(args);
else {
  console.error(`unknown benchmark ${what}: use storage | storage-scale | auth | sync | mesh | cloud | merge | cpu | cpu-ab | compare`);
  process.exit(2);
}
saveResults(what);
process.exit(0);
