#!/usr/bin/env node
// Keel bootstrap: the one entry point behind `npm start`, `npm test` and the pnpm scripts.
// Runs on any Node >= 18 (the machine's default Node may be 20) and installs what is missing:
//   - a Node that can run QuickJS components (>= 24: Node 20 lacks extended-const),
//   - pnpm and the workspace dependencies,
//   - wasmtime and wac, built with cargo at pinned versions when no suitable one is on PATH.
// Tools live in KEEL_TOOLS (default ~/.cache/keel/tools) so every clone on a machine shares them
// and nothing is rebuilt once it is there.
import { spawn, spawnSync, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TOOLS = process.env.KEEL_TOOLS || path.join(os.homedir(), ".cache", "keel", "tools");
const BIN = path.join(TOOLS, "bin");

// Pinned versions; why each is pinned is in README.md § Toolchain.
export const PINS = {
  node: "24.21.0",
  pnpm: "10.34.8",
  // 48.0.2: 48.0.0 sends outgoing HTTP/1.1 requests without a Host header (edge → cloud sync
  // fails against another wasmtime serve); fixed in 48.0.1. Newer majors need a newer rustc.
  wasmtime: { crate: "wasmtime-cli", version: "48.0.2", bin: "wasmtime", min: [48, 0, 2],
    // Lean feature set: what `serve`, `run` and `compile` need; a quarter of the default build.
    args: ["--no-default-features", "--features",
      "run,serve,compile,component-model-async,pooling-allocator,cache,parallel-compilation"] },
  wac: { crate: "wac-cli", version: "0.10.1", bin: "wac", min: [0, 10, 0],
    args: ["--no-default-features", "--features", "wit"] },
  // Optional (`setup --wit-bindgen`): regenerates the C bindings of engine "c" components after a
  // WIT change (gen/ was made with this version; tests/integration/merge-counter-c.test.ts compares).
  witBindgen: { crate: "wit-bindgen-cli", version: "0.63.0", bin: "wit-bindgen", min: [0, 63, 0], args: [], minutes: 13 },
};
// Optional (`setup --c`): Debian packages for engine "c" components (scripts/lib/c-toolchain.ts).
const C_PACKAGES = ["clang", "lld", "wasi-libc", "libclang-rt-dev-wasm32"];

const QUIET = process.env.npm_config_loglevel === "silent";
const log = (msg) => { if (!QUIET) process.stderr.write(`[keel] ${msg}\n`); };

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: ROOT, env: childEnv(), ...opts });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

function childEnv() {
  return { ...process.env, PATH: `${BIN}${path.delimiter}${process.env.PATH}`, KEEL_TOOLS: TOOLS };
}

function versionOf(bin) {
  try {
    const out = execFileSync(bin, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], env: childEnv() });
    const m = /(\d+)\.(\d+)\.(\d+)/.exec(out);
    return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
  } catch {
    return null;
  }
}

const atLeast = (v, min) => {
  if (!v) return false;
  for (let i = 0; i < 3; i++) if (v[i] !== min[i]) return v[i] > min[i];
  return true;
};

function link(target, name) {
  fs.mkdirSync(BIN, { recursive: true });
  const dest = path.join(BIN, name);
  try { fs.unlinkSync(dest); } catch {}
  fs.symlinkSync(target, dest);
}

export function ensureNode() {
  const major = Number(process.versions.node.split(".")[0]);
  if (major >= 24) { link(process.execPath, "node"); return process.execPath; }
  const dir = path.join(TOOLS, `node-${PINS.node}`);
  const pkg = `node-${process.platform}-${process.arch}`;
  const bin = path.join(dir, "node_modules", pkg, "bin", "node");
  if (!fs.existsSync(bin)) {
    log(`installing Node ${PINS.node} (${pkg}) into ${dir} — the machine's Node ${process.version} cannot run QuickJS components`);
    fs.mkdirSync(dir, { recursive: true });
    const status = run("npm", ["install", "--no-audit", "--no-fund", "--prefix", dir, `${pkg}@${PINS.node}`]);
    if (status !== 0 || !fs.existsSync(bin)) fail(`could not install ${pkg}@${PINS.node} from the npm registry`);
  }
  link(bin, "node");
  return bin;
}

export function ensurePnpm(node) {
  const dir = path.join(TOOLS, `pnpm-${PINS.pnpm}`);
  const entry = path.join(dir, "node_modules", "pnpm", "bin", "pnpm.cjs");
  if (!fs.existsSync(entry)) {
    log(`installing pnpm ${PINS.pnpm} into ${dir}`);
    fs.mkdirSync(dir, { recursive: true });
    const status = run("npm", ["install", "--no-audit", "--no-fund", "--prefix", dir, `pnpm@${PINS.pnpm}`]);
    if (status !== 0 || !fs.existsSync(entry)) fail(`could not install pnpm@${PINS.pnpm}`);
  }
  const shim = path.join(BIN, "pnpm");
  const text = `#!/bin/sh\nexec "${node}" "${entry}" "$@"\n`;
  if (!fs.existsSync(shim) || fs.readFileSync(shim, "utf8") !== text) {
    fs.mkdirSync(BIN, { recursive: true });
    fs.writeFileSync(shim, text, { mode: 0o755 });
  }
}

function ensureCargoTool(spec) {
  const installed = path.join(TOOLS, "bin", spec.bin);
  if (atLeast(versionOf(installed), spec.min)) return;
  // NOTE: a tool already on PATH is used when its version fits; never rebuild what is there.
  const onPath = versionOf(spec.bin);
  if (atLeast(onPath, spec.min)) return;
  if (!versionOf("cargo")) fail(`${spec.bin} ${spec.version} is needed and cargo is not installed: install Rust (rustup) and run again`);
  log(`building ${spec.crate} ${spec.version} with cargo (first time on this machine; about ${spec.minutes ?? (spec.bin === "wasmtime" ? 9 : 2)} minutes on 2 cores)`);
  const t = Date.now();
  const status = run("cargo", ["install", "--locked", "--root", TOOLS, `${spec.crate}@${spec.version}`, ...spec.args]);
  if (status !== 0) fail(`cargo install ${spec.crate}@${spec.version} failed`);
  log(`built ${spec.bin} in ${Math.round((Date.now() - t) / 1000)} s`);
}

export function ensureDeps() {
  const marker = path.join(ROOT, "node_modules", ".modules.yaml");
  const lock = path.join(ROOT, "pnpm-lock.yaml");
  const stale = !fs.existsSync(marker) || (fs.existsSync(lock) && fs.statSync(lock).mtimeMs > fs.statSync(marker).mtimeMs);
  if (!stale) return;
  log("installing workspace dependencies (pnpm install)");
  const args = ["install", "--reporter=append-only"];
  if (fs.existsSync(lock)) args.push("--frozen-lockfile");
  if (run(path.join(BIN, "pnpm"), args) !== 0) fail("pnpm install failed");
}

/** vitest run, then one plain summary line (`tests: N passed, M failed`) that any CI can read. */
function runTests(node, args) {
  const results = path.join(ROOT, "build", "test-results.json");
  fs.mkdirSync(path.dirname(results), { recursive: true });
  fs.rmSync(results, { force: true });
  const status = run(node, [path.join(ROOT, "node_modules/vitest/vitest.mjs"), "run",
    "--reporter=default", "--reporter=json", `--outputFile.json=${results}`, ...args]);
  try {
    const r = JSON.parse(fs.readFileSync(results, "utf8"));
    process.stdout.write(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed${r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""}\n`);
    if (status === 0 && r.numTotalTests === 0) { log("error: no test ran"); return 1; }
  } catch {
    log("no test results were written");
  }
  return status;
}

/**
 * `npm start`: run the Node host and leave no wrapper behind it. The host is the bundle the
 * build writes, started as host/launch.json says (its Node flags cannot be set from inside a
 * running process). When this process already runs on a Node that can host the components, it
 * becomes the host (process.execve: same PID, so signals reach the host itself); otherwise the
 * host is a child that gets every signal this process gets, and this process exits with it
 * (same code, or re-raising the signal that ended it).
 */
function startHost(node, args) {
  const launch = JSON.parse(fs.readFileSync(path.join(ROOT, "host", "launch.json"), "utf8"));
  const argv = [...launch.nodeFlags, path.join(ROOT, launch.main), ...args];
  if (path.resolve(node) === path.resolve(process.execPath) && typeof process.execve === "function") {
    process.chdir(ROOT);
    process.execve(node, [node, ...argv], childEnv());
  }
  forward(node, argv, { cwd: ROOT, env: childEnv() });
}

/**
 * Run `node args` as a child on this process's terminal: signals go to it, and this process
 * ends as it does (its exit code, or the same signal re-raised). Used where the child is the
 * real program (the Node host, the `keel` command) under a Node that is not the pinned one.
 */
export function forward(node, args, options) {
  const child = spawn(node, args, { stdio: "inherit", ...options });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
  child.on("exit", (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
  return child;
}

function fail(msg) {
  log(`error: ${msg}`);
  process.exit(1);
}

/** Whether clang can link a wasm32-wasi module against wasi-libc (a one-line probe; the build's own is scripts/lib/c-toolchain.ts, which this plain-JS file cannot import). */
function clangBuildsWasm() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keel-cc-"));
  try {
    fs.writeFileSync(path.join(dir, "p.c"), "#include <stdlib.h>\nvoid *f(int n) { return malloc(n); }\n");
    return spawnSync("clang", ["--target=wasm32-wasi", "-nostartfiles", "-Wl,--no-entry", "-Wl,--export=f", "-o", path.join(dir, "p.wasm"), path.join(dir, "p.c")], { stdio: "ignore" }).status === 0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `setup --c`: what building C components (examples/merge-counter-c) needs: clang and wasi-libc
 * from Debian's packages (apt-get, as root). Never part of a plain `setup`: without it those
 * components are skipped, saying so. Their bindings are in the repo; `setup --wit-bindgen`
 * builds the generator, needed only to regenerate them after a WIT change.
 */
function ensureC() {
  if (clangBuildsWasm()) {
    log("C toolchain: clang builds wasm32-wasi modules");
  } else {
    if (!fs.existsSync("/usr/bin/apt-get")) fail(`clang with wasi-libc is needed for --c and there is no apt-get here: install ${C_PACKAGES.join(", ")} (or your system's equivalents)`);
    if (process.getuid?.() !== 0) fail(`clang with wasi-libc is needed for --c: run as root, or: sudo apt-get install ${C_PACKAGES.join(" ")}`);
    log(`installing ${C_PACKAGES.join(" ")} with apt-get (clang and wasi-libc for C components; under a minute)`);
    const t = Date.now();
    const install = () => run("apt-get", ["install", "-y", "--no-install-recommends", ...C_PACKAGES], { env: { ...childEnv(), DEBIAN_FRONTEND: "noninteractive" } });
    // A fresh container has no package lists yet: fetch them once and try again.
    if (install() !== 0 && (run("apt-get", ["update"]) !== 0 || install() !== 0)) fail("apt-get install failed");
    if (!clangBuildsWasm()) fail("clang still cannot build for wasm32-wasi after installing the packages");
    log(`C toolchain installed in ${Math.round((Date.now() - t) / 1000)} s`);
  }
}

export function setup() {
  const node = ensureNode();
  ensurePnpm(node);
  ensureDeps();
  ensureCargoTool(PINS.wac);
  ensureCargoTool(PINS.wasmtime);
  return node;
}

function main() {
  const [cmd, ...rest] = process.argv.slice(2);
  const node = setup();
  // A script runs as a child this process forwards signals to and ends with (a long-running
  // one — serve, host — must not outlive the wrapper a supervisor signals).
  const exec = (script, args) => forward(node, [path.join(ROOT, script), ...args], { cwd: ROOT, env: childEnv() });
  const build = () => { if (run(node, [path.join(ROOT, "scripts/build.ts"), "--if-stale"]) !== 0) fail("build failed"); };
  switch (cmd) {
    case "setup":
      if (rest.includes("--c")) ensureC();
      if (rest.includes("--wit-bindgen")) ensureCargoTool(PINS.witBindgen);
      log("tools ready");
      return;
    case "start":
      build();
      return startHost(node, rest);
    case "test":
      build();
      if (run(node, [path.join(ROOT, "scripts/budgets.ts")]) !== 0) fail("size budgets exceeded");
      if (run(node, [path.join(ROOT, "scripts/check-boundaries.ts")]) !== 0) fail("import boundaries crossed");
      if (run(node, [path.join(ROOT, "scripts/typecheck.ts")]) !== 0) fail("type errors");
      return process.exit(runTests(node, rest));
    case "exec":
      if (!rest[0]) fail("usage: keel.mjs exec <script.ts> [args…]");
      // Scripts that only read config or measure what is built do not trigger a build.
      if (!["scripts/build.ts", "scripts/measure.ts", "scripts/budgets.ts", "scripts/token.ts", "scripts/check-boundaries.ts", "scripts/typecheck.ts", "scripts/gen-types.ts"].includes(rest[0])) build();
      return exec(rest[0], rest.slice(1));
    default:
      fail(`unknown command '${cmd ?? ""}': use setup | start | test | exec <script>`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
