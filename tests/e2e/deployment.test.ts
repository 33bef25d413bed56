// deployment/: the edge image's build context (scripts/edge-image.ts) runs a node with the
// Dockerfile's own entrypoint — outside docker always, and as a real image when a docker daemon
// answers (docker build, run with a volume, restart, data still there). The systemd unit runs
// the same command.
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, ROOT, tempDataDir } from "../helpers/nodes.ts";
import { HOST_TARGET, stageEdgeImage } from "../../scripts/edge-image.ts";
import { tool } from "../../scripts/lib/project.ts";
import { DEFAULT_CONFIG, serveCommand } from "../../scripts/serve.ts";
import { mintToken } from "../../host/src/token.ts";

const DOCKERFILE = fs.readFileSync(path.join(ROOT, "deployment/Dockerfile.edge"), "utf8");
const ENTRYPOINT = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(DOCKERFILE)![1]) as string[];
const UNIT = fs.readFileSync(path.join(ROOT, "deployment/keel-edge.service"), "utf8");
const SECRET = crypto.randomBytes(32).toString("hex");

async function waitHealthy(url: string, proc?: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc && proc.exitCode !== null) throw new Error(`exited with ${proc.exitCode}`);
    try {
      if ((await fetch(`${url}/_keel/health`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer /_keel/health within 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Writes, reads, and an admin call with a token signed by the secret the node was given. */
async function exercise(url: string): Promise<void> {
  expect((await fetch(`${url}/v1/kv/deployed`, { method: "PUT", body: "on the edge" })).status).toBe(200);
  expect(await (await fetch(`${url}/v1/kv/deployed`)).text()).toBe("on the edge");
  const token = mintToken(SECRET, "local", { sub: "op", scope: "admin", iss: "keel-local", aud: "keel", exp: Math.floor(Date.now() / 1000) + 60 });
  const m = await fetch(`${url}/_keel/metrics`, { headers: { authorization: `Bearer ${token}` } });
  expect(m.status).toBe(200);
  expect(await m.text()).toMatch(/keel_http_requests_total\{class="write",status="200"\} 1/);
}

describe("edge image build context", () => {
  const out = path.join(tempDataDir("edge-image"), "context");
  beforeAll(async () => {
    await stageEdgeImage({ out, target: HOST_TARGET, wasmtime: tool("wasmtime"), configFile: DEFAULT_CONFIG });
  }, 120_000);

  it("holds what the Dockerfile copies and runs: wasmtime, the libraries it links, the component, the config", () => {
    expect(DOCKERFILE).toMatch(/^FROM scratch$/m);
    expect(DOCKERFILE).toMatch(/^COPY rootfs\/ \/$/m);
    const rootfs = path.join(out, "rootfs");
    expect(fs.statSync(path.join(rootfs, ENTRYPOINT[0])).mode & 0o111).toBeTruthy();
    expect(fs.existsSync(path.join(rootfs, ENTRYPOINT[ENTRYPOINT.length - 1]))).toBe(true);
    const interp = /interpreter (\S+?),/.exec(execFileSync("file", ["-L", tool("wasmtime")], { encoding: "utf8" }))?.[1];
    if (interp) expect(fs.existsSync(path.join(rootfs, interp))).toBe(true);
    const config = JSON.parse(fs.readFileSync(path.join(out, "node-config.json"), "utf8"));
    expect(config.node.id).toBe("edge-local");
    expect(config.auth.resolved_keys).toEqual([{ kid: "local", alg: "HS256", secret_env: "KEEL_JWT_SECRET" }]);
    expect(fs.readFileSync(path.join(out, "keel.env"), "utf8")).toMatch(/^KEEL_NODE_CONFIG='\{.*\}'$/m);
    expect(JSON.stringify(config)).not.toMatch(/x{64}/);
  });

  it("the entrypoint serves a node from the staged files (as in the container, outside it)", async () => {
    const port = await freePort();
    const data = tempDataDir("edge-image-data");
    const map = (a: string) => a === "/data::/data" ? `${data}::/data` : a === "0.0.0.0:8080" ? `127.0.0.1:${port}` : a.startsWith("/") ? path.join(out, "rootfs", a) : a;
    const [bin, ...args] = ENTRYPOINT.map(map);
    const env = { PATH: process.env.PATH ?? "", KEEL_NODE_CONFIG: fs.readFileSync(path.join(out, "node-config.json"), "utf8"), KEEL_JWT_SECRET: SECRET };
    const proc = spawn(bin, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    proc.stderr!.on("data", (d) => (log += d));
    try {
      await waitHealthy(`http://127.0.0.1:${port}`, proc);
      await exercise(`http://127.0.0.1:${port}`);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${log}`);
    } finally {
      proc.kill("SIGTERM");
    }
  });

  it("the entrypoint gives wasmtime pnpm serve's instance flags for the default edge.toml", () => {
    // Reuse, idle time and the allocator: what scripts/serve.ts derives from [wasmtime], written
    // out by hand in the Dockerfile and the unit.
    const { args } = serveCommand({ addr: "127.0.0.1:1", dataDir: tempDataDir("serve-flags"), precompiled: true, env: process.env });
    const instanceFlags = (a: string[]) => a.flatMap((x, i) => (/^(--max-instance-reuse-count|--idle-instance-timeout|-O)$/.test(x) ? [x, a[i + 1]] : []));
    expect(instanceFlags(ENTRYPOINT)).toEqual(instanceFlags(args));
    expect(instanceFlags(args)).toContain("--idle-instance-timeout");
  });

  it("the systemd unit runs the same wasmtime command", () => {
    const exec = /^ExecStart=(.*)$/m.exec(UNIT)![1].split(" ");
    const unitPaths: Record<string, string> = { "/var/lib/keel::/data": "/data::/data", "/opt/keel/keel.cwasm": "/keel/keel.cwasm" };
    expect(exec.map((a) => unitPaths[a] ?? a)).toEqual(ENTRYPOINT);
    expect(UNIT).toMatch(/^EnvironmentFile=\/etc\/keel\/keel\.env$/m);
  });

  const docker = spawnSync("docker", ["info"], { stdio: "ignore", timeout: 10_000 }).status === 0;
  it.runIf(docker)("docker: builds the image, runs it with a volume, keeps the data over a restart", async () => {
    const tag = `keel-edge-test-${crypto.randomBytes(4).toString("hex")}`;
    const port = await freePort();
    const run = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
    try {
      run("build", "-q", "-f", path.join(ROOT, "deployment/Dockerfile.edge"), "--build-arg", `KEEL_NODE_CONFIG=${fs.readFileSync(path.join(out, "node-config.json"), "utf8")}`, "-t", tag, out);
      run("run", "-d", "--name", tag, "-p", `127.0.0.1:${port}:8080`, "-v", `${tag}:/data`, "-e", `KEEL_JWT_SECRET=${SECRET}`, tag);
      const url = `http://127.0.0.1:${port}`;
      await waitHealthy(url);
      await exercise(url);
      run("restart", "-t", "5", tag);
      await waitHealthy(url);
      expect(await (await fetch(`${url}/v1/kv/deployed`)).text()).toBe("on the edge");
    } finally {
      spawnSync("docker", ["rm", "-f", tag], { stdio: "ignore" });
      spawnSync("docker", ["volume", "rm", tag], { stdio: "ignore" });
      spawnSync("docker", ["rmi", tag], { stdio: "ignore" });
    }
  }, 120_000);
});
