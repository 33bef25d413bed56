// `node scripts/edge-image.ts [--out DIR] [--target TRIPLE] [--wasmtime PATH] [--lite]`: stage
// what an edge box runs, as the build context of deployment/Dockerfile.edge and as files for
// deployment/keel-edge.service (default build/edge-image/):
//   rootfs/usr/local/bin/wasmtime   the pinned wasmtime (or --wasmtime, built for --target)
//   rootfs/<lib paths>              the shared libraries it links, at their paths (host target)
//   rootfs/keel/keel.cwasm          dist/composed.wasm (--lite: dist/edge-lite.wasm) precompiled
//                                   for --target: that target's baseline CPU features, not this
//                                   machine's, so a Pi runs what a laptop compiled
//   rootfs/data/                    the volume's mount point, owned by the image's user
//   node-config.json                KEEL_NODE_CONFIG from KEEL_CONFIG (default edge.toml): the
//                                   validated config with auth keys resolved, no secret values
//   keel.env                        the same as a systemd EnvironmentFile, secrets to fill in
// It prints the docker build and run commands.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { DIST, ROOT, tool } from "./lib/project.ts";
import { loadConfig } from "../host/src/config.ts";
import { resolveAuth } from "../host/src/auth-keys.ts";
import { step, info } from "./lib/progress.ts";
import { DEFAULT_CONFIG } from "./serve.ts";

export const HOST_TARGET = `${process.arch === "arm64" ? "aarch64" : process.arch === "x64" ? "x86_64" : process.arch}-unknown-linux-gnu`;

/** The config the components get (KEEL_NODE_CONFIG) with every secret left as a reference. */
export function nodeConfigJson(configFile: string): string {
  const config = loadConfig(configFile);
  // Placeholders long enough for any HMAC: resolveAuth only checks that secrets are there; their
  // values are dropped (the container gets the real ones at run time).
  const env = Object.fromEntries(config.raw.auth.keys.filter((k) => k.secret_env).map((k) => [k.secret_env!, "x".repeat(64)]));
  const scratch = fs.mkdtempSync(path.join(ROOT, "build", "edge-image-config-"));
  try {
    const { auth } = resolveAuth(config.raw.auth, { configDir: path.dirname(path.resolve(configFile)), dataDir: scratch, env });
    return JSON.stringify({ ...config.raw, auth });
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** Shared libraries `bin` loads (and the loader), as absolute paths, from ldd. */
function sharedLibraries(bin: string): string[] {
  const out = execFileSync("ldd", [bin], { encoding: "utf8" });
  return [...out.matchAll(/(\/\S+)\s+\(0x/g)].map((m) => m[1]);
}

export async function stageEdgeImage(opts: { out: string; target: string; wasmtime: string; configFile: string; lite?: boolean }): Promise<void> {
  const rootfs = path.join(opts.out, "rootfs");
  fs.rmSync(opts.out, { recursive: true, force: true });
  for (const d of ["usr/local/bin", "keel", "data", "tmp"]) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  const composed = path.join(DIST, opts.lite ? "edge-lite.wasm" : "composed.wasm");
  if (!fs.existsSync(composed)) throw new Error(`${path.relative(ROOT, composed)} is not built: run pnpm build`);
  fs.copyFileSync(fs.realpathSync(opts.wasmtime), path.join(rootfs, "usr/local/bin/wasmtime"));
  fs.chmodSync(path.join(rootfs, "usr/local/bin/wasmtime"), 0o755);
  if (opts.target === HOST_TARGET) {
    for (const lib of sharedLibraries(opts.wasmtime)) {
      fs.mkdirSync(path.join(rootfs, path.dirname(lib)), { recursive: true });
      fs.copyFileSync(fs.realpathSync(lib), path.join(rootfs, lib));
    }
  } else {
    info(`${opts.target}: put the C runtime of that target (ld-linux, libc, libm, libgcc_s) under ${path.relative(ROOT, rootfs)}/ before docker build`);
  }
  const cwasm = path.join(rootfs, "keel/keel.cwasm");
  await step(`precompile ${path.basename(composed)} for ${opts.target} (wasmtime compile --target)`, () => {
    try {
      execFileSync(tool("wasmtime"), ["compile", "--target", opts.target, "-o", cwasm, composed], { stdio: ["ignore", "inherit", "pipe"] });
    } catch (e) {
      const why = String((e as { stderr?: Buffer }).stderr ?? "").trim();
      throw new Error(/target is disabled/.test(why)
        ? `this wasmtime (${tool("wasmtime")}) compiles for its own CPU only: use one built with all-arch (README § Deploy to a Raspberry Pi), or precompile on the board`
        : `wasmtime compile failed: ${why}`);
    }
    return `${(fs.statSync(cwasm).size / 1e6).toFixed(2)} MB`;
  });
  // The image runs as 65532 (nonroot): its volume's mount point is created owned by it.
  fs.chmodSync(path.join(rootfs, "data"), 0o777);
  fs.chmodSync(path.join(rootfs, "tmp"), 0o1777);
  const json = nodeConfigJson(opts.configFile);
  fs.writeFileSync(path.join(opts.out, "node-config.json"), json);
  // systemd reads a single-quoted value verbatim; JSON.stringify leaves no ' or newline in it
  // except inside config strings, which are refused here rather than mangled.
  if (json.includes("'")) throw new Error("the config has a ' in a string: keel.env cannot quote it for systemd");
  fs.writeFileSync(path.join(opts.out, "keel.env"), [
    "# /etc/keel/keel.env (deployment/keel-edge.service), from scripts/edge-image.ts. Mode 0600.",
    "# The HMAC secret tokens are signed with (at least 32 bytes): openssl rand -hex 32",
    "KEEL_JWT_SECRET=",
    "# With [sync] enabled on an edge: its node credential from the cloud (pnpm token --node ID there)",
    "#KEEL_SYNC_TOKEN=",
    `KEEL_NODE_CONFIG='${json}'`,
    "",
  ].join("\n"), { mode: 0o600 });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: "string" }, target: { type: "string" }, wasmtime: { type: "string" }, lite: { type: "boolean" } } });
  const out = path.resolve(values.out ?? path.join(ROOT, "build", "edge-image"));
  const target = values.target ?? HOST_TARGET;
  if (target !== HOST_TARGET && !values.wasmtime) throw new Error(`--target ${target} needs --wasmtime: a wasmtime 48.0.2 binary built for that target`);
  await stageEdgeImage({ out, target, wasmtime: values.wasmtime ?? tool("wasmtime"), configFile: process.env.KEEL_CONFIG ?? DEFAULT_CONFIG, lite: values.lite });
  const rel = path.relative(process.cwd(), out) || ".";
  process.stdout.write([
    `docker build -f ${path.relative(process.cwd(), path.join(ROOT, "deployment/Dockerfile.edge"))} --build-arg KEEL_NODE_CONFIG="$(cat ${rel}/node-config.json)" -t keel-edge ${rel}`,
    `docker run -d --name keel -p 8080:8080 -v keel-data:/data -e KEEL_JWT_SECRET="$(openssl rand -hex 32)" keel-edge`,
    "",
  ].join("\n"));
}

if (import.meta.main) {
  main().catch((e: Error) => {
    process.stderr.write(`[keel] edge-image: ${e.message}\n`);
    process.exit(1);
  });
}
