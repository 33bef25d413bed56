// NATS JetStream for the cloud tier ([cloud] store = "jetstream"), its tests and benchmarks:
// nats-server installed once with `go install` into Keel's tools dir, and local clusters of
// N servers on loopback (each with its own JetStream store dir and cluster routes to the rest).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { TOOLS } from "./project.ts";

export const NATS_VERSION = "v2.15.2";

/** Why nats-server cannot be had here (not the pinned version, and no Go to build it), or null when it can. */
export function natsUnavailable(): string | null {
  if (natsBin()) return null;
  try {
    execFileSync("go", ["version"], { stdio: "ignore" });
    return null;
  } catch {
    return `nats-server ${NATS_VERSION} is not installed and Go is not there to build it (install Go, then: go install github.com/nats-io/nats-server/v2@${NATS_VERSION})`;
  }
}

/** The version a nats-server binary reports (`nats-server: v2.15.2`), or null when it does not run. */
function versionOf(bin: string): string | null {
  try {
    return execFileSync(bin, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim().split(/\s+/).pop() ?? null;
  } catch {
    return null;
  }
}

/**
 * nats-server at the pinned version: the tools dir's, else one on PATH; null when neither is.
 * Another version in the tools dir (an older install) is replaced by ensureNats.
 */
export function natsBin(): string | null {
  const own = path.join(TOOLS, "bin", "nats-server");
  if (fs.existsSync(own) && versionOf(own) === NATS_VERSION) return own;
  return versionOf("nats-server") === NATS_VERSION ? "nats-server" : null;
}

/**
 * nats-server, built with `go install` the first time (about 25 s; `-v` prints each package
 * as it is compiled, so the wait shows progress). Throws with the reason when Go is missing.
 */
export function ensureNats(say: (line: string) => void = (l) => console.error(`[keel] ${l}`)): string {
  const found = natsBin();
  if (found) return found;
  const why = natsUnavailable();
  if (why) throw new Error(why);
  say(`installing nats-server ${NATS_VERSION} with go install into ${path.join(TOOLS, "bin")} (first time, or replacing another version; ~25 s) …`);
  execFileSync("go", ["install", "-v", `github.com/nats-io/nats-server/v2@${NATS_VERSION}`], {
    stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, GOBIN: path.join(TOOLS, "bin") },
  });
  say("nats-server installed");
  return path.join(TOOLS, "bin", "nats-server");
}

export interface NatsServerSpec { name: string; port: number; clusterPort: number; dir: string }

/** The config file of one server of a cluster (routes to every other server). */
export function serverConfig(s: NatsServerSpec, all: NatsServerSpec[], cluster = "keel"): string {
  const routes = all.filter((o) => o !== s).map((o) => `nats://127.0.0.1:${o.clusterPort}`);
  return [
    `server_name: ${s.name}`,
    `host: 127.0.0.1`,
    `port: ${s.port}`,
    `jetstream { store_dir: "${path.join(s.dir, "js")}" }`,
    ...(all.length > 1 ? [`cluster { name: ${cluster}, listen: "127.0.0.1:${s.clusterPort}", routes: [${routes.map((r) => `"${r}"`).join(", ")}] }`] : []),
    "",
  ].join("\n");
}

/** Whether something accepts connections on 127.0.0.1:port. */
export async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

export interface NatsCluster {
  servers: NatsServerSpec[];
  /** nats://127.0.0.1:port of each server. */
  urls: string[];
  /** Kill server i (SIGKILL: as a crash). */
  kill(i: number): void;
  /** Start server i again (same store dir). */
  start(i: number): Promise<void>;
  stop(): Promise<void>;
}

/** A cluster of `specs.length` servers as child processes; resolves once every server listens. */
export async function startCluster(bin: string, specs: NatsServerSpec[]): Promise<NatsCluster> {
  const procs: (ChildProcess | null)[] = specs.map(() => null);
  const launch = async (i: number) => {
    const s = specs[i];
    fs.mkdirSync(s.dir, { recursive: true });
    const conf = path.join(s.dir, "nats.conf");
    fs.writeFileSync(conf, serverConfig(s, specs));
    const p = spawn(bin, ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    procs[i] = p;
    for (let t = 0; !(await portOpen(s.port)); t++) {
      if (p.exitCode !== null || t > 200) throw new Error(`nats-server ${s.name} did not start: ${err.trim().slice(-500)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await Promise.all(specs.map((_, i) => launch(i)));
  return {
    servers: specs,
    urls: specs.map((s) => `nats://127.0.0.1:${s.port}`),
    kill: (i) => {
      procs[i]?.kill("SIGKILL");
      procs[i] = null;
    },
    start: (i) => launch(i),
    stop: async () => {
      await Promise.all(procs.map((p) => p && p.exitCode === null ? new Promise<void>((r) => (p.once("exit", () => r()), p.kill("SIGTERM"))) : undefined));
    },
  };
}
