// `pnpm build`: every component → dist/components/<name>.wasm (engine per compose/components.toml),
// wac compositions → dist/composed.wasm and dist/cli.wasm (checked with `wac targets`),
// wasmtime precompiled .cwasm files, jco-transpiled copies for the Node host in dist/host/, and
// the Node host itself bundled in dist/node-host/.
// Each step is skipped when its inputs have not changed (hashes in dist/.build-state.json);
// `--if-stale` only says "up to date" when nothing changed. `--force` rebuilds everything.
import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import * as esbuild from "esbuild";
import { ROOT, DIST, readComponentsConfig, tool, type ComponentSpec } from "./lib/project.ts";
import { step, info } from "./lib/progress.ts";
import { takeBuildLock } from "./lib/build-lock.ts";
import { glueScriptFile, transpileForHost } from "../host/src/glue.ts";
import { loadConfig } from "../host/src/config.ts";
import { restoreWasiNames } from "./lib/wasi-alias.ts";
import { stageWit } from "./lib/stage-wit.ts";
import { checkMergePlugin, pluginPath } from "../host/src/plugin.ts";
import { shareModules } from "./lib/share-modules.ts";
import { cToolchain, compileC } from "./lib/c-toolchain.ts";

const force = process.argv.includes("--force");
// The merge plug-in composed into dist/composed.wasm: `--merge <file>` (pnpm compose), else
// `[conflict] plugin` in edge.toml (KEEL_CONFIG), else merge-default. wac binds it as the
// `keel:merge-default` package of compose/keel.wac — the one place the wiring is written. (A
// `wac plug` cannot reach it: the slot is deep inside the composition, not a top-level import.)
const mergeArg = process.argv.indexOf("--merge");
// --out DIR: write only the compositions (composed.wasm, cli.wasm) into DIR, leaving dist/ and
// its build state alone (tests compose plug-ins this way while other tests use dist/).
const outArg = process.argv.indexOf("--out");
const OUT = outArg >= 0 ? path.resolve(process.argv[outArg + 1] ?? "") : undefined;
const STATE_FILE = path.join(DIST, ".build-state.json");
// Read once the build lock is held (main): a build that waited for another sees what that one built.
const state: Record<string, string> = {};
const loadState = () => Object.assign(state, !force && fs.existsSync(STATE_FILE) ? JSON.parse(fs.readFileSync(STATE_FILE, "utf8")) : {});
const saveState = () => fs.writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));

function hashFiles(paths: string[], extra = ""): string {
  const h = createHash("sha256").update(extra);
  const walk = (p: string) => {
    if (!fs.existsSync(p)) return;
    const st = fs.statSync(p);
    if (st.isDirectory()) {
      for (const n of fs.readdirSync(p).sort()) if (n !== "node_modules" && n !== "test") walk(path.join(p, n));
    } else {
      h.update(path.relative(ROOT, p)).update(fs.readFileSync(p));
    }
  };
  paths.forEach(walk);
  return h.digest("hex");
}

/** Run `fn` unless `key`'s inputs hash to what they did last time and `outputs` exist. */
async function cached(key: string, inputs: string, outputs: string[], fn: () => Promise<void> | void): Promise<boolean> {
  if (state[key] === inputs && outputs.every((o) => fs.existsSync(o))) return false;
  await fn();
  state[key] = inputs;
  saveState();
  return true;
}

async function bundle(spec: ComponentSpec, out: string): Promise<void> {
  // With wasi_alias, `import … from "wasi:…"` in the source is bundled as `wasx:…`.
  const alias: esbuild.Plugin = {
    name: "wasi-alias",
    setup(b) {
      b.onResolve({ filter: /^wasi:/ }, (a) => ({ path: a.path.replace(/^wasi:/, "wasx:"), external: true }));
    },
  };
  await esbuild.build({
    plugins: spec.wasi_alias ? [alias] : [],
    entryPoints: [path.join(ROOT, spec.entry)],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    minify: true,
    legalComments: "none",
    external: ["wasi:*", "keel:*"],
    outfile: out,
    logLevel: "warning",
  });
}

/**
 * The Node host (host/src/run.ts and what it imports) as one CommonJS file, and the launcher
 * `npm start` runs, dist/node-host/main.cjs. NOTE: run from source, a start spent ~70 ms before
 * main.ts ran (Node loading its TypeScript stripper) and ~80 ms more loading ~60 modules, and an
 * ES module that imports node:http makes Node load undici (its fetch) for the import's facade.
 * As one script that V8's compile cache keeps whole, the process reaches run.ts's main() in
 * ~30 ms. jco (plug-ins) and preview2-shim (loaded on first use, with a worker beside it) stay
 * outside. The file sits two directories below the project root, as host/src/run.ts does,
 * so the paths run.ts derives from its own location hold for both.
 */
async function bundleHost(dir: string): Promise<string> {
  fs.rmSync(dir, { recursive: true, force: true });
  const file = path.join(dir, "keel-node.cjs");
  const { metafile } = await esbuild.build({
    entryPoints: [path.join(ROOT, "host/src/run.ts")],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node22",
    outfile: file,
    external: ["@bytecodealliance/jco", "@bytecodealliance/preview2-shim"],
    define: { "import.meta.url": "__keelModuleUrl" },
    banner: { js: 'const __keelModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
    metafile: true,
    logLevel: "warning",
  });
  // The bundle runs as a vm.Script (host/src/code-cache.ts), where import() has no loader: an
  // import() left in it (of a module not bundled) would fail only when that code first runs.
  const left = Object.values(metafile.outputs).flatMap((o) => o.imports).filter((i) => i.kind === "dynamic-import" && i.external);
  if (left.length) throw new Error(`the Node host bundle keeps import() of ${left.map((i) => i.path).join(", ")}: load it with require() (host/src/jco.ts shows how)`);
  // The launcher (host/src/launch.ts): loads the bundle through the host's code cache.
  await esbuild.build({
    entryPoints: [path.join(ROOT, "host/src/launch.ts")],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node22",
    outfile: path.join(dir, "main.cjs"),
    // The bundle's code-cache key (code-cache.ts): its hash and the launcher's, whose wrapper
    // is part of the compiled source.
    define: { KEEL_BUNDLE_ID: JSON.stringify(createHash("sha256").update(fs.readFileSync(file)).update(fs.readFileSync(path.join(ROOT, "host/src/launch.ts"))).digest("hex").slice(0, 16)) },
    logLevel: "warning",
  });
  return `${(fs.statSync(file).size / 1e3).toFixed(0)} KB`;
}

async function componentize(name: string, spec: ComponentSpec, js: string, witDir: string, out: string): Promise<void> {
  if (spec.engine === "qjs") {
    const { componentize } = await import("componentize-qjs");
    const r = await componentize({ witPath: witDir, jsSource: fs.readFileSync(js, "utf8"), jsPath: js, world: spec.world, sync: true, optSize: spec.opt_size === true });
    if (!spec.wasi_alias) return fs.writeFileSync(out, r.component);
    const raw = path.join(ROOT, "build", "raw", `${name}.wasm`);
    fs.mkdirSync(path.dirname(raw), { recursive: true });
    fs.writeFileSync(raw, r.component);
    await restoreWasiNames(raw, out, (args) => run(tool("wac"), args), path.join(ROOT, "build"));
  } else if (spec.engine === "sm") {
    const { componentize } = await import("@bytecodealliance/componentize-js");
    const r = await componentize({ sourcePath: js, witPath: witDir, worldName: spec.world });
    fs.writeFileSync(out, r.component);
  } else {
    throw new Error(`component ${name}: unknown engine ${spec.engine as string} (use qjs or sm)`);
  }
}

/** A core module (assembled from WebAssembly text, or compiled from C) made a component against `world`. */
async function componentFromCore(core: Uint8Array, witDir: string, world: string, out: string): Promise<void> {
  const { componentEmbed, componentNew } = await import("@bytecodealliance/jco");
  const embedded = await componentEmbed({ binary: core, witPath: path.resolve(witDir), world });
  fs.writeFileSync(out, await componentNew(embedded));
}

async function assembleWat(file: string, witDir: string, world: string, out: string): Promise<void> {
  const { parse } = await import("@bytecodealliance/jco");
  await componentFromCore(await parse(fs.readFileSync(file, "utf8")), witDir, world, out);
}

/** A component written in C: clang → a core module with no imports (c-toolchain.ts) → the same path as wat. */
async function buildC(name: string, spec: ComponentSpec, clang: string, witDir: string, out: string): Promise<void> {
  const sources = [spec.entry, ...(spec.sources ?? [])].map((s) => path.join(ROOT, s));
  const core = path.join(ROOT, "build", "c", `${name}.core.wasm`);
  fs.mkdirSync(path.dirname(core), { recursive: true });
  compileC(clang, sources, [...new Set(sources.map((s) => path.dirname(s)))], core);
  await componentFromCore(fs.readFileSync(core), witDir, spec.world, out);
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"], cwd: ROOT });
}

async function main(): Promise<void> {
  // --out leaves dist/ alone, so it needs no lock (tests compose plug-ins this way in parallel).
  if (!OUT) await takeBuildLock(path.join(ROOT, "build", "build.lock"), info);
  loadState();
  const cfg = readComponentsConfig();
  fs.mkdirSync(path.join(DIST, "components"), { recursive: true });
  const t0 = Date.now();
  let changed = false;
  // Tool versions are part of every cache key: a .cwasm only loads in the wasmtime that made it.
  const version = (t: string) => {
    try {
      return execFileSync(tool(t as "wac" | "wasmtime"), ["--version"], { encoding: "utf8" }).trim();
    } catch {
      return t;
    }
  };
  const toolsKey = [version("wac"), version("wasmtime")].join("|");
  const buildScripts = [path.join(ROOT, "scripts/build.ts"), path.join(ROOT, "scripts/lib"), path.join(ROOT, "compose/components.toml"), path.join(ROOT, "pnpm-lock.yaml")];

  const names = Object.keys(cfg.components);
  if (OUT) return composeInto(OUT, cfg);
  for (const [i, name] of names.entries()) {
    const spec = cfg.components[name];
    const out = path.join(DIST, "components", `${name}.wasm`);
    const pkgDir = path.dirname(path.dirname(path.join(ROOT, spec.entry)));
    // Engine c needs clang with wasi-libc, which is optional: without it the component is
    // skipped (its tests skip too, saying why) and everything else builds.
    const cc = spec.engine === "c" ? cToolchain() : undefined;
    if (cc && "missing" in cc) {
      info(`[${i + 1}/${names.length}] ${name}: skipped (engine c): ${cc.missing}`);
      continue;
    }
    // Sources a component bundles: its own package and the shared packages/ it imports (plus
    // components/, which holds most entries); for engine c, the compiler's version too.
    const inputs = hashFiles([path.join(ROOT, "components"), path.join(ROOT, "packages"), pkgDir, path.join(ROOT, "wit"), ...buildScripts], `${name}:${JSON.stringify(spec)}:${pkgDir}:${cc?.version ?? ""}`);
    changed = (await cached(`component:${name}`, inputs, [out], async () => {
      const how = spec.engine === "wat" ? "assemble" : spec.engine === "c" ? "compile" : spec.engine === "core" ? "wrap the prebuilt core module" : "bundle + componentize";
      await step(`[${i + 1}/${names.length}] ${name}: ${how} (${spec.engine})`, async () => {
        const witDir = stageWit(spec.wit, spec.wasi_alias === true);
        if (spec.engine === "wat") {
          await assembleWat(path.join(ROOT, spec.entry), witDir, spec.world, out);
        } else if (spec.engine === "core") {
          await componentFromCore(fs.readFileSync(path.join(ROOT, spec.entry)), witDir, spec.world, out);
        } else if (cc) {
          await buildC(name, spec, cc.clang, witDir, out);
        } else {
          const js = path.join(ROOT, "build", "js", `${name}.js`);
          await bundle(spec, js);
          await componentize(name, spec, js, witDir, out);
        }
        const size = fs.statSync(out).size;
        return size < 1e5 ? `${(size / 1e3).toFixed(1)} KB` : `${(size / 1e6).toFixed(2)} MB`;
      });
    })) || changed;
  }

  // The Node host runs each component transpiled by jco, instantiated synchronously so a lazy
  // component can be instantiated inside the call that first needs it.
  for (const name of names) {
    const wasm = path.join(DIST, "components", `${name}.wasm`);
    const outDir = path.join(DIST, "host", name);
    if (!fs.existsSync(wasm)) continue; // skipped above (its toolchain is missing)
    changed = (await cached(`transpile:${name}`, hashFiles([wasm, path.join(ROOT, "host/src/glue.ts")]), [path.join(outDir, `${name}.js`), path.join(outDir, glueScriptFile(name))], async () => {
      await step(`transpile ${name} for the Node host (jco transpile --instantiation sync)`, async () => {
        fs.rmSync(outDir, { recursive: true, force: true });
        for (const [file, bytes] of await transpileForHost(fs.readFileSync(wasm), name)) {
          fs.mkdirSync(path.dirname(path.join(outDir, file)), { recursive: true });
          fs.writeFileSync(path.join(outDir, file), bytes);
        }
      });
    })) || changed;
  }

  // The Node host itself, bundled (bundleHost says why).
  const hostOut = path.join(DIST, "node-host");
  changed = (await cached("node-host", hashFiles([path.join(ROOT, "host/src"), path.join(ROOT, "packages"), ...buildScripts]), [path.join(hostOut, "main.cjs"), path.join(hostOut, "keel-node.cjs")], async () => {
    await step("bundle the Node host (esbuild → dist/node-host/keel-node.cjs)", () => bundleHost(hostOut));
  })) || changed;

  const mergePlugin = await chosenPlugin();
  const depOf = (u: string) => (u === "merge-default" && mergePlugin ? mergePlugin : path.join(DIST, "components", `${u}.wasm`));

  for (const [name, comp] of Object.entries(cfg.compositions)) {
    const out = path.join(DIST, `${name}.wasm`);
    const inputs = hashFiles([path.join(ROOT, comp.file), ...comp.uses.map(depOf)], toolsKey);
    changed = (await cached(`compose:${name}`, inputs, [out], async () => {
      await step(`compose ${name}.wasm (wac compose ${comp.file})`, () => {
        const deps = comp.uses.flatMap((u) => ["--dep", `keel:${u}=${depOf(u)}`]);
        run(tool("wac"), ["compose", ...deps, "-o", out, path.join(ROOT, comp.file)]);
        return `${(fs.statSync(out).size / 1e6).toFixed(2)} MB`;
      });
      await step(`share repeated core modules in ${name}.wasm`, () => shareInPlace(out));
      await step(`check ${name}.wasm targets ${comp.targets.wit}/${comp.targets.world} (wac targets)`, () => {
        run(tool("wac"), ["targets", "--wit", stageWit(comp.targets.wit), "--world", comp.targets.world, out]);
      });
    })) || changed;
    const cwasm = path.join(DIST, `${name}.cwasm`);
    changed = (await cached(`cwasm:${name}`, hashFiles([out], toolsKey), [cwasm], async () => {
      await step(`precompile ${name}.cwasm (wasmtime compile)`, () => {
        run(tool("wasmtime"), ["compile", "-o", cwasm, out]);
        return `${(fs.statSync(cwasm).size / 1e6).toFixed(2)} MB`;
      });
    })) || changed;
  }

  if (changed) info(`build done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  else info("build is up to date");
}

/** The merge plug-in to compose in: `--merge`, else `[conflict] plugin` in edge.toml. */
async function chosenPlugin(): Promise<string | undefined> {
  const configFile = process.env.KEEL_CONFIG ?? path.join(ROOT, "deployment", "edge.toml");
  const plugin = mergeArg >= 0 ? path.resolve(process.argv[mergeArg + 1] ?? "") : pluginPath(loadConfig(configFile).raw, configFile);
  if (plugin) {
    await checkMergePlugin(plugin);
    info(`merge plug-in: ${plugin}`);
  }
  return plugin;
}

async function composeInto(dir: string, cfg: ReturnType<typeof readComponentsConfig>): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const plugin = await chosenPlugin();
  for (const [name, comp] of Object.entries(cfg.compositions)) {
    const out = path.join(dir, `${name}.wasm`);
    await step(`compose ${out}`, () => {
      const deps = comp.uses.flatMap((u) => ["--dep", `keel:${u}=${u === "merge-default" && plugin ? plugin : path.join(DIST, "components", `${u}.wasm`)}`]);
      run(tool("wac"), ["compose", ...deps, "-o", out, path.join(ROOT, comp.file)]);
      return shareInPlace(out);
    });
  }
}

/** One copy of each repeated core module (the QuickJS engine) per composition: scripts/lib/share-modules.ts. */
function shareInPlace(file: string): string {
  const { bytes, report } = shareModules(fs.readFileSync(file));
  fs.writeFileSync(file, bytes);
  return `${report.aliases} copies of ${report.modules} module(s) shared: ${(report.before / 1e6).toFixed(2)} → ${(report.after / 1e6).toFixed(2)} MB`;
}

main().catch((e) => {
  console.error(`[keel] build failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
