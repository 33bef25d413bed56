// `keel nats up | down | status` (also `pnpm nats …`): a local NATS JetStream cluster for a cloud
// node with [cloud] store = "jetstream" — N servers on loopback, started in the background with
// their store dirs, logs and a state file under --dir, nats-server installed by `go install` the
// first time. For development and tests on one machine; a production cluster is the operator's
// (any NATS ≥ 2.12 with JetStream: atomic batches), pointed at by [cloud] servers.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { ensureNats, portOpen, serverConfig, type NatsServerSpec } from "../lib/nats.ts";
import { isAlive as alive } from "../lib/pids.ts";
import { CliError, EXIT } from "./errors.ts";

export interface ClusterState {
  servers: (NatsServerSpec & { pid: number })[];
  urls: string[];
  started: string;
}

export interface NatsOptions {
  dir: string;
  servers: number;
  port: number;
}

const stateFile = (dir: string) => path.join(dir, "cluster.json");

export function readState(dir: string): ClusterState | null {
  try {
    return JSON.parse(fs.readFileSync(stateFile(dir), "utf8")) as ClusterState;
  } catch {
    return null;
  }
}


/** Wait until JetStream answers (a meta leader is elected); the seconds it took. */
async function ready(urls: string[], timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  const nc = await connect({ servers: urls, waitOnFirstConnect: true, timeout: timeoutMs });
  try {
    for (;;) {
      try {
        await (await jetstreamManager(nc, { timeout: 2000 })).getAccountInfo();
        return (Date.now() - t0) / 1000;
      } catch (e) {
        if (Date.now() - t0 > timeoutMs) throw new CliError(`JetStream did not become ready within ${timeoutMs / 1000} s: ${(e as Error).message}`, EXIT.FAILED, "nats_not_ready");
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } finally {
    await nc.close();
  }
}

export async function natsUp(o: NatsOptions, say: (line: string) => void): Promise<ClusterState & { ready_seconds: number }> {
  if (!Number.isInteger(o.servers) || o.servers < 1 || o.servers > 5) throw new CliError("--servers must be 1 to 5", EXIT.USAGE, "usage");
  const existing = readState(o.dir);
  if (existing && existing.servers.some((s) => alive(s.pid))) throw new CliError(`a cluster from ${o.dir} is already running (${existing.urls.join(", ")}); keel nats down first`, EXIT.FAILED, "running");
  let bin: string;
  try {
    bin = ensureNats(say);
  } catch (e) {
    throw new CliError((e as Error).message, EXIT.UNAVAILABLE, "no_nats");
  }
  const specs: NatsServerSpec[] = Array.from({ length: o.servers }, (_, i) => ({ name: `n${i + 1}`, port: o.port + i, clusterPort: o.port + 2000 + i, dir: path.join(o.dir, `n${i + 1}`) }));
  for (const s of specs) {
    for (const port of [s.port, s.clusterPort]) {
      if (await portOpen(port)) throw new CliError(`port ${port} is in use; choose another first port with --port`, EXIT.FAILED, "port_in_use");
    }
  }
  const servers = specs.map((s) => {
    fs.mkdirSync(s.dir, { recursive: true });
    const conf = path.join(s.dir, "nats.conf");
    fs.writeFileSync(conf, serverConfig(s, specs));
    const log = fs.openSync(path.join(s.dir, "nats.log"), "a");
    const child = spawn(bin, ["-c", conf], { detached: true, stdio: ["ignore", log, log] });
    child.unref();
    fs.closeSync(log);
    say(`started ${s.name} (pid ${child.pid}) on nats://127.0.0.1:${s.port}, log ${path.join(s.dir, "nats.log")}`);
    return { ...s, pid: child.pid! };
  });
  const state: ClusterState = { servers, urls: specs.map((s) => `nats://127.0.0.1:${s.port}`), started: new Date().toISOString() };
  fs.writeFileSync(stateFile(o.dir), JSON.stringify(state, null, 2));
  say(`waiting for JetStream (${o.servers} server${o.servers > 1 ? "s" : ""}) …`);
  const secs = await ready(state.urls, 30_000);
  // A server that could not take its cluster port answers a moment, then exits: say so now.
  await new Promise((r) => setTimeout(r, 300));
  const gone = servers.filter((s) => !alive(s.pid));
  if (gone.length) {
    const tail = (s: NatsServerSpec) => fs.readFileSync(path.join(s.dir, "nats.log"), "utf8").trim().split("\n").slice(-3).join(" | ");
    for (const s of servers) if (alive(s.pid)) process.kill(s.pid, "SIGTERM");
    fs.rmSync(stateFile(o.dir), { force: true });
    throw new CliError(`${gone.map((s) => s.name).join(", ")} exited after starting: ${gone.map(tail).join("; ")}`, EXIT.FAILED, "nats_exited");
  }
  return { ...state, ready_seconds: secs };
}

export async function natsDown(dir: string): Promise<{ stopped: number[] }> {
  const state = readState(dir);
  if (!state) throw new CliError(`no cluster state in ${dir} (keel nats up writes it)`, EXIT.FAILED, "no_cluster");
  const stopped: number[] = [];
  for (const s of state.servers) {
    if (!alive(s.pid)) continue;
    process.kill(s.pid, "SIGTERM");
    stopped.push(s.pid);
  }
  for (let t = 0; stopped.some(alive) && t < 100; t++) await new Promise((r) => setTimeout(r, 100));
  for (const pid of stopped.filter(alive)) process.kill(pid, "SIGKILL");
  fs.rmSync(stateFile(dir), { force: true });
  return { stopped };
}

export async function natsStatus(dir: string): Promise<{ servers: { name: string; url: string; pid: number; up: boolean }[]; jetstream: boolean }> {
  const state = readState(dir);
  if (!state) throw new CliError(`no cluster state in ${dir} (keel nats up writes it)`, EXIT.FAILED, "no_cluster");
  const servers = await Promise.all(state.servers.map(async (s) => ({ name: s.name, url: `nats://127.0.0.1:${s.port}`, pid: s.pid, up: alive(s.pid) && (await portOpen(s.port)) })));
  let jetstream = false;
  if (servers.some((s) => s.up)) {
    try {
      await ready(servers.filter((s) => s.up).map((s) => s.url), 3000);
      jetstream = true;
    } catch {
      jetstream = false;
    }
  }
  return { servers, jetstream };
}

/** The [cloud] table that points a cloud node at `urls`. */
export function cloudSnippet(urls: string[]): string {
  return `[cloud]\nstore = "jetstream"\nservers = [${urls.map((u) => `"${u}"`).join(", ")}]\nreplicas = ${Math.min(urls.length, 3)}`;
}
