// The Node host: instantiates the jco-transpiled components (dist/host/<name>/), links their
// keel imports to each other as compose/keel.wac does, gives them WASI (wasi.ts: its own files,
// clocks, random and stdio; preview2-shim, loaded on first use, for the rest), and serves HTTP
// with node:http over the gateway's keel:gateway/http export (http-server.ts). Components
// listed `lazy` in edge.toml are instantiated inside the first call that needs them (sync
// instantiation makes that possible).
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { setPreopens } from "./wasi-filesystem.ts";
import { setEnv, WASI } from "./wasi.ts";
import { whenShimLoads } from "./shim.ts";
import type { Server } from "node:http";
import { createServer, type GatewayHttp, type PlainRequest, type PlainResponse } from "./http-server.ts";
import { componentEnv, type EdgeConfig, type Loading } from "./config.ts";
import { EXPORTER, interfaceOf } from "./graph.ts";
import { checkMergePlugin, pluginPath, transpilePlugin } from "./plugin.ts";
import { log, now } from "./log.ts";
import { CORE_HASHES, coreHash, glueScriptFile } from "./glue.ts";
import { runCached } from "./code-cache.ts";
import { hostMetricsText } from "./host-metrics.ts";

type Instance = Record<string, Record<string, (...args: unknown[]) => unknown>>;
const requireModule = createRequire(import.meta.url);

type Instantiate = (getCoreModule: (p: string) => WebAssembly.Module, imports: Record<string, unknown>) => Instance;

const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export interface HostOptions {
  config: EdgeConfig;
  /** Directory served to the components as the preopen `/data`. */
  dataDir: string;
  /** Where `pnpm build` put the transpiled components (dist/host). */
  componentsDir: string;
}

export class Host {
  private readonly instances = new Map<string, Instance>();
  private readonly modules = new Map<string, WebAssembly.Module>();
  private readonly loading = new Set<string>();
  /** Instantiations per component in this process (for /_keel/metrics). */
  private readonly instantiations = new Map<string, number>();
  /** Where each component's transpiled files are (a user's merge plug-in lives elsewhere). */
  private readonly dirs = new Map<string, string>();
  private readonly exporter: Record<string, string> = { ...EXPORTER };
  private server: Server | undefined;

  private readonly opts: HostOptions;

  constructor(opts: HostOptions) {
    this.opts = opts;
    fs.mkdirSync(opts.dataDir, { recursive: true });
    setPreopens({ "/data": path.resolve(opts.dataDir) });
    const { env, notes } = componentEnv(opts.config, opts.dataDir);
    // This host keeps each instance for the process's life (wasmtime serve's serve a bounded
    // number of requests and go when idle): storage then leaves out work meant for short-lived
    // instances (request-log.ts).
    setEnv({ ...env, KEEL_INSTANCE_LIFETIME: "process" });
    whenShimLoads((what) => log("info", "preview2-shim loaded", { for: what }));
    for (const note of notes) log("warn", note);
  }

  /** Names of the components instantiated so far. */
  instantiated(): string[] {
    return [...this.instances.keys()];
  }

  modeOf(name: string): Loading {
    return this.opts.config.loading[name] ?? "lazy";
  }

  /** Instantiate every eager component (the gateway always: it is the entry point). */
  async start(): Promise<void> {
    const plugin = pluginPath(this.opts.config.raw, this.opts.config.file);
    if (plugin) {
      // A user's merge plug-in from edge.toml: checked, transpiled and used with no rebuild.
      const dir = await transpilePlugin(await checkMergePlugin(plugin));
      this.dirs.set("merge-plugin", dir);
      this.exporter["keel:conflict/merge"] = "merge-plugin";
      log("info", "merge plug-in loaded", { plugin });
    }
    const eager = [...new Set(["gateway", ...Object.entries(this.opts.config.loading).filter(([, m]) => m === "eager").map(([n]) => n)])];
    await this.prepare(eager);
    for (const name of eager) this.instance(name);
  }

  /**
   * Compile the eager components' core modules on V8's background threads while this thread
   * loads their glue, instead of one after the other inside each instantiation (~8 ms of a
   * start). A module whose file or hash is missing is left to coreModule, as before.
   */
  private async prepare(names: string[]): Promise<void> {
    const pending = new Map<string, Promise<WebAssembly.Module>>();
    for (const name of names) {
      const dir = this.dirOf(name);
      for (const [file, hash] of Object.entries(this.coreHashes(dir))) {
        if (!file.endsWith(".wasm") || this.modules.has(hash) || pending.has(hash)) continue;
        let bytes: Uint8Array<ArrayBuffer>;
        try {
          // A file's Buffer is backed by a plain ArrayBuffer (never a shared one).
          bytes = fs.readFileSync(path.join(dir, file)) as Uint8Array<ArrayBuffer>;
        } catch {
          continue;
        }
        pending.set(hash, WebAssembly.compile(bytes));
      }
    }
    for (const name of names) this.glue(name);
    // All at once, so a module that fails to compile fails the start here, not as an unhandled rejection.
    for (const [hash, m] of await Promise.all([...pending].map(async ([hash, compiling]) => [hash, await compiling] as const))) this.modules.set(hash, m);
  }

  /** The instance of `name`, instantiating it now if it is not yet. Synchronous on purpose. */
  instance(name: string): Instance {
    const existing = this.instances.get(name);
    if (existing) return existing;
    if (this.loading.has(name)) throw new Error(`component ${name} imports itself through a cycle`);
    this.loading.add(name);
    const t = now();
    try {
      const dir = this.dirOf(name);
      const inst = this.glue(name).instantiate((p) => this.coreModule(path.join(dir, p)), this.importsFor(name));
      this.instances.set(name, inst);
      this.instantiations.set(name, (this.instantiations.get(name) ?? 0) + 1);
      log("info", "component instantiated", { component: name, mode: this.modeOf(name), ms: +(now() - t).toFixed(1) });
      return inst;
    } finally {
      this.loading.delete(name);
    }
  }

  /** Where a component's transpiled files are: dist/host/<name>, or a user's plug-in's own dir. */
  private dirOf(name: string): string {
    return this.dirs.get(name) ?? path.join(this.opts.componentsDir, name);
  }

  /**
   * A component's jco glue, loaded on first need. NOTE: require() of an ES module is synchronous
   * (Node ≥ 22.12; the glue has no top-level await), so a lazy component's glue is not even read
   * until the call that needs it — start-up parses only what the eager components use.
   */
  private glue(name: string): { instantiate: Instantiate } {
    const loaded = this.modules.get(`js:${name}`) as unknown as { instantiate: Instantiate } | undefined;
    if (loaded) return loaded;
    const dir = this.dirOf(name);
    const file = path.join(dir, `${name}.js`);
    if (!fs.existsSync(file)) throw new Error(`component ${name}: ${file} is missing (run pnpm build)`);
    // As a script with a code cache (code-cache.ts) when the transpile step wrote one (jco's
    // usual glue); else as the ES module.
    const scriptFile = path.join(dir, glueScriptFile(name));
    const hash = this.coreHashes(dir)[glueScriptFile(name)];
    const mod = (fs.existsSync(scriptFile)
      ? (runCached(scriptFile, fs.readFileSync(scriptFile, "utf8"), hash?.replace(/^sha256:/, "").slice(0, 16)) as () => unknown)()
      : requireModule(file)) as { instantiate: Instantiate };
    this.modules.set(`js:${name}`, mod as never);
    return mod;
  }

  /**
   * A core module, compiled once per content: every QuickJS component carries the same engine
   * module (770 KB), so the components share one compiled copy — as the compositions do for
   * wasmtime (scripts/lib/share-modules.ts). Instances, and so memories, stay per component.
   */
  private coreModule(file: string): WebAssembly.Module {
    let m = this.modules.get(file);
    if (m) return m;
    // The transpile step wrote each core module's hash (glue.ts CORE_HASHES): a copy of a
    // module already compiled is not even read.
    const known = this.coreHashes(path.dirname(file))[path.basename(file)];
    m = known ? this.modules.get(known) : undefined;
    if (!m) {
      const bytes = fs.readFileSync(file);
      const key = known ?? coreHash(bytes);
      m = this.modules.get(key) ?? new WebAssembly.Module(bytes);
      this.modules.set(key, m);
    }
    this.modules.set(file, m);
    return m;
  }

  private readonly hashesByDir = new Map<string, Record<string, string>>();

  /** CORE_HASHES of a transpiled component's directory ({} when it has none). */
  private coreHashes(dir: string): Record<string, string> {
    let h = this.hashesByDir.get(dir);
    if (!h) {
      try {
        h = JSON.parse(fs.readFileSync(path.join(dir, CORE_HASHES), "utf8")) as Record<string, string>;
      } catch {
        h = {};
      }
      this.hashesByDir.set(dir, h);
    }
    return h;
  }

  private importsFor(name: string): Record<string, unknown> {
    const cache = new Map<string, unknown>();
    return new Proxy({}, {
      get: (_, spec: string | symbol) => {
        if (typeof spec !== "string") return undefined;
        if (!cache.has(spec)) cache.set(spec, this.resolveImport(name, spec));
        return cache.get(spec);
      },
    });
  }

  private resolveImport(importer: string, spec: string): unknown {
    const iface = interfaceOf(spec);
    const [ns, rest] = iface.split(":");
    if (ns === "wasi") {
      const [pkg, name] = rest.split("/");
      const impl = WASI[pkg]?.[camel(name)];
      if (!impl) throw new Error(`component ${importer} imports ${spec}, which the Node host does not provide`);
      return impl;
    }
    const exporter = this.exporter[iface];
    if (!exporter) throw new Error(`component ${importer} imports ${spec}, which no Keel component exports`);
    const contained = iface === "keel:conflict/merge";
    // Calls go through to the exporter's instance, created on the first call when it is lazy.
    return new Proxy({}, {
      get: (_, fn: string | symbol) => {
        if (typeof fn !== "string") return undefined;
        const exported = () => {
          const inst = this.instance(exporter);
          const target = inst[`${iface}@0.1.0`] ?? inst[camel(iface.split("/")[1])];
          if (!target?.[fn]) throw new Error(`component ${exporter} does not export ${iface}#${fn}`);
          return target[fn].bind(target);
        };
        // An instance that is never dropped (all but a merge plug-in's) is looked up once, on
        // the first call: every later call goes straight to its export.
        let found: ((...args: unknown[]) => unknown) | undefined;
        if (!contained) return (...args: unknown[]) => (found ??= exported())(...args);
        return (...args: unknown[]) => {
          const call = exported();
          try {
            return call(...args);
          } catch (e) {
            // A component error (err result) passes through; a trap is contained: the plug-in
            // instance is dropped (a trapped instance cannot be used again) and the caller gets
            // an error, so the conflict component's fallback strategy decides.
            if (e && typeof e === "object" && "payload" in e) throw e;
            this.instances.delete(exporter);
            log("warn", "merge plug-in trapped", { error: String((e as Error)?.message ?? e) });
            throw { payload: { tag: "other", val: `plug-in trapped: ${String((e as Error)?.message ?? e).slice(0, 200)}` } };
          }
        };
      },
    });
  }

  /**
   * A keel interface as the host calls it (the cloud's JetStream store asks the auth and
   * conflict components), reached the same way one component reaches another.
   */
  use<T>(iface: string): T {
    return this.resolveImport("host", `${iface}@0.1.0`) as T;
  }

  /**
   * Serve the gateway's keel:gateway/http on host:port (node:http in front; see http-server.ts).
   * `extra.route` answers some requests in the host itself (cloud/routes.ts); `extra.metrics`
   * adds Prometheus text to /_keel/metrics.
   */
  listen(port: number, hostname: string, extra: { route?: (req: PlainRequest) => Promise<PlainResponse> | undefined; metrics?: () => string } = {}): Promise<void> {
    const gateway = (): GatewayHttp => {
      const gw = this.instance("gateway");
      return (gw["keel:gateway/http@0.1.0"] ?? gw.http) as unknown as GatewayHttp;
    };
    gateway();
    this.server = createServer(
      gateway,
      (e) => log("error", "gateway call failed", { error: String((e as Error)?.message ?? e) }),
      () => hostMetricsText(this.instantiations) + (extra.metrics?.() ?? ""),
      extra.route,
    );
    const server = this.server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, hostname, () => resolve());
    });
  }

  /** The HTTP server, once listen() has made it. */
  get httpServer(): Server | undefined {
    return this.server;
  }

  close(): void {
    this.server?.close();
    this.server?.closeAllConnections();
  }
}
