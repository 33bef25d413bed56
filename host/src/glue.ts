// jco transpile for the Node host (sync instantiation), in one place for the build
// (scripts/build.ts, every component) and for a user's merge plug-in (plugin.ts).
//
// NOTE: the glue jco 1.x writes calls `_debugLog` hundreds of times per request (every lowered
// import), and each call reads `process.env.JCO_DEBUG` — a lookup in the real environment, not a
// property read. A profile of 1,000 warm GETs on the Node host put ~5% of its CPU there. The
// glue is rewritten to read the variable once, when the glue is loaded; JCO_DEBUG still works
// when set before the host starts. If jco writes the function differently, the glue is left as
// it is (slower, not wrong).
import { createHash } from "node:crypto";
import { loadJco } from "./jco.ts";

const DEBUG_LOG = /const _debugLog = \(\.\.\.args\) => \{\s*if \(!globalThis\?\.process\?\.env\?\.JCO_DEBUG\) \{ return; \}\s*console\.debug\(\.\.\.args\);\s*\};/g;

/** The glue with its debug-log check read once per load instead of once per call. */
export function quietDebugLog(js: string): string {
  return js.replace(DEBUG_LOG, "const _debugLog = globalThis?.process?.env?.JCO_DEBUG ? (...args) => console.debug(...args) : () => {};");
}

/**
 * The glue with `instantiate` an `export const` (the only export shape glueScript takes) and
 * compiled when the glue is loaded, not on its first call.
 * NOTE: jco writes one `instantiate` function of 10,000–45,000 lines per component. V8 compiles
 * a function lazily, on its first call, and Node's module compile cache holds only what was
 * compiled with the module — so each start compiled every eager component's `instantiate`
 * again (~40 ms of a Node host start). Wrapped in parentheses, V8 compiles it with the module
 * (its "parenthesized function" heuristic), and so it is in that cache. (The host now loads the
 * script form with its own code cache, made after the call, so there the shape is what counts.)
 * Written only when the glue has the one `export function instantiate(` and the one `};` that
 * closes it, as jco 1.x writes them; otherwise the glue is left as it is (loaded as an ES
 * module: slower to start, not wrong).
 */
export function eagerInstantiate(js: string): string {
  const open = js.match(/^export function instantiate\(/gm);
  const close = js.match(/^\};$/gm);
  if (open?.length !== 1 || close?.length !== 1) return js;
  return js.replace(/^export function instantiate\(/m, "export const instantiate = (function instantiate(").replace(/^\};$/m, "});");
}

/** Beside `<name>.js`: the same glue as a script (glueScript), which the host loads when it is there. */
export const glueScriptFile = (name: string) => `${name}.script.js`;

/**
 * The glue as a script whose completion value is a function returning its exports — so the
 * host can compile it with vm.Script and keep its code cache (code-cache.ts). Made by the
 * transpile step, not at start-up (scanning megabytes of glue cost ~10 ms of every start). jco 1.x glue
 * imports nothing and exports only `export const` bindings (`instantiate`, `_util`); glue of
 * another shape gives undefined, and the host loads it as the ES module it is.
 * NOTE: "use strict" keeps module semantics; written on the glue's first line, so line numbers
 * in stack traces stay the glue file's.
 */
export function glueScript(js: string): string | undefined {
  // indexOf, not multiline regexes, over megabytes of glue.
  if (js.startsWith("import") || js.includes("\nimport ") || js.includes("\nimport{") || js.includes("import.meta")) return undefined;
  const starts: number[] = js.startsWith("export ") ? [0] : [];
  for (let i = js.indexOf("\nexport "); i >= 0; i = js.indexOf("\nexport ", i + 1)) starts.push(i + 1);
  if (starts.length === 0) return undefined;
  const names: string[] = [];
  let body = "";
  let from = 0;
  for (const at of starts) {
    const m = /^export const ([A-Za-z_$][\w$]*) = /.exec(js.slice(at, at + 100));
    if (!m) return undefined;
    names.push(m[1]);
    body += js.slice(from, at);
    from = at + "export ".length;
  }
  return `(function () { "use strict"; ${body}${js.slice(from)}\nreturn { ${names.join(", ")} };\n})`;
}

/**
 * Beside the glue: `{ "<core module file>": "sha256:<hex>" }`. The host compiles one copy of
 * each distinct core module (every QuickJS component carries the same 770 KB engine); with
 * the hashes written here it need not read and hash each copy at start-up to find that out.
 * The glue script's hash is there too, as its code-cache key.
 */
export const CORE_HASHES = "core-modules.json";

/** A core module's identity as the host's module cache keys it. */
export const coreHash = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

/** A component transpiled for the Node host: file name → bytes, the glue patched as above, and CORE_HASHES. */
export async function transpileForHost(bytes: Uint8Array, name: string): Promise<[string, Uint8Array][]> {
  const { transpile } = loadJco();
  const { files } = await transpile(bytes, { name, instantiation: "sync", noTypescript: true, quiet: true });
  const out = Object.entries(files as Record<string, Uint8Array>).map(([file, data]): [string, Uint8Array] => [
    file,
    file.endsWith(".js") ? new TextEncoder().encode(eagerInstantiate(quietDebugLog(new TextDecoder().decode(data)))) : data,
  ]);
  const glue = out.find(([f]) => f === `${name}.js`);
  const script = glue && glueScript(new TextDecoder().decode(glue[1]));
  if (script) out.push([glueScriptFile(name), new TextEncoder().encode(script)]);
  // The glue script's hash too: the host's code cache (code-cache.ts) is keyed by it.
  const hashes = Object.fromEntries(out.filter(([f]) => f.endsWith(".wasm") || f === glueScriptFile(name)).map(([f, d]) => [f, coreHash(d)]));
  return [...out, [CORE_HASHES, new TextEncoder().encode(`${JSON.stringify(hashes, null, 1)}\n`)]];
}
