// A V8 code cache for the JavaScript on the Node host's request path: the jco glue of every
// component (host.ts) and the host bundle itself (launch.ts, dist/node-host/main.cjs).
//
// NOTE: why not Node's module compile cache (module.enableCompileCache) alone: Node writes a
// module's cache when the module is compiled, so it holds the functions V8 compiled eagerly
// then — and V8 compiles most functions lazily, on their first call. The glue's request-path
// functions (jco's task and lowering machinery, ~30 ms of a first PUT in a profile) were
// therefore compiled again by every process, inside its first request. A vm.Script can make
// its cache at any time (`createCachedData`), and a cache made after the first requests holds
// the functions they compiled: the next start's first request finds them compiled.
//
// Where: $KEEL_CODE_CACHE (a directory; "off" turns it off), else <tmpdir>/keel-code-cache —
// a cache, as Node's own compile cache in the temp dir: losing it costs one slower start.
// One file per script, named by its content (the build's hash, or its CRC-32), the Node version
// and the Node flags (V8 refuses a cache made under other flags); a new content's cache removes
// the old one's. Written by rename, so nodes starting together never read half a file; V8
// checks what it reads, and a refused cache is only a slower start. The dir must be this
// user's and not writable by others (trustedDir), or it is not used.
// When (run.ts): right after listen if this start had no usable cache, then 1 s and 60 s after
// the first request if the cache has grown — so a node writes it a few times in its life, not
// on every start.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import vm from "node:vm";

interface Entry {
  script: vm.Script;
  file: string;
  /** Whether V8 took a cache for this start. */
  loaded: boolean;
  /** Bytes of the cache on disk as far as this process knows: read and taken, or written (0: none). */
  had: number;
}

// One registry per process: the launcher and the bundle each carry a copy of this module.
const REGISTRY = Symbol.for("keel.codeCache");
const registry = ((globalThis as Record<symbol, unknown>)[REGISTRY] ??= new Map<string, Entry>()) as Map<string, Entry>;

function cacheDir(): string | undefined {
  const env = process.env.KEEL_CODE_CACHE;
  if (env === "off") return undefined;
  return env ? path.resolve(env) : path.join(os.tmpdir(), "keel-code-cache");
}

let trusted: boolean | undefined;

/**
 * Whether the cache dir may be used: made by this user, mode 0700, or already ours and not
 * writable by others. NOTE: V8 runs the code a cache holds; in a shared temp dir another user
 * could otherwise plant one. A dir that fails the check is not used (a slower start).
 */
function trustedDir(dir: string): boolean {
  if (trusted !== undefined) return trusted;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = fs.statSync(dir);
    trusted = st.isDirectory() && (process.getuid === undefined || st.uid === process.getuid()) && (st.mode & 0o022) === 0;
  } catch {
    trusted = false;
  }
  return trusted;
}

/** FNV-1a, for short strings: node:zlib's crc32 would load zlib (and its streams) at every start. */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16);
}

const flagsKey = () => fnv1a(`${process.execArgv.join(" ")}|${process.env.NODE_OPTIONS ?? ""}`);

/** A source's CRC-32, when its caller knows no id for it (loads node:zlib then). */
const crc32 = (source: string) => (process.getBuiltinModule("node:zlib") as typeof import("node:zlib")).crc32(source).toString(16);

// "<script file name>~<content id>~<Node version>~<flags key>.v8"
const keyOf = (name: string, id: string) => `${name}~${id}~${process.version}~${flagsKey()}.v8`;

/**
 * Removes the caches of earlier contents of the same script, under this Node and these flags
 * (a rebuild leaves them behind; nothing will take them again). Best effort.
 */
function pruneSuperseded(file: string): void {
  const [name, id, ...rest] = path.basename(file).split("~");
  try {
    for (const other of fs.readdirSync(path.dirname(file))) {
      const [n, i, ...r] = other.split("~");
      if (n === name && i !== id && r.join("~") === rest.join("~")) fs.rmSync(path.join(path.dirname(file), other), { force: true });
    }
  } catch {
    // best effort
  }
}

/**
 * Compiles `source` (a script, e.g. `(function (…) { … })`) as `filename`, with the cache when
 * there is one, runs it and returns its completion value. `id` names the source's content when
 * the caller knows it without reading it all (a hash the build wrote); else its CRC-32 does.
 * NOTE: V8 checks a cache against its source's length only, so the key must change whenever the
 * content does: a cache taken for other code of the same length would run that code.
 */
export function runCached(filename: string, source: string, id?: string): unknown {
  const dir = cacheDir();
  const file = dir !== undefined && trustedDir(dir) ? path.join(dir, keyOf(path.basename(filename), id ?? crc32(source))) : undefined;
  let cachedData: Buffer | undefined;
  try {
    if (file) cachedData = fs.readFileSync(file);
  } catch {
    // none yet
  }
  const script = new vm.Script(source, { filename, cachedData });
  const loaded = cachedData !== undefined && script.cachedDataRejected !== true;
  if (file) registry.set(filename, { script, file, loaded, had: loaded ? cachedData!.length : 0 });
  return script.runInThisContext();
}

/**
 * What this start loaded: scripts compiled with runCached with a cache dir in use, how many of
 * them V8 took a cache for, and whether the dir is used (off, or failing trustedDir: not).
 */
export function codeCacheState(): { scripts: number; cached: number; dir: string | undefined; used: boolean } {
  const entries = [...registry.values()];
  const dir = cacheDir();
  return { scripts: entries.length, cached: entries.filter((e) => e.loaded).length, dir, used: dir !== undefined && trustedDir(dir) };
}

/**
 * Writes the cache of every script loaded with runCached that had none this start (`missing`),
 * or (`grown`) whose cache now holds noticeably more than what this start read: the functions
 * the requests so far compiled. Returns the files written. Never throws: a cache that cannot
 * be written is a slower next start, not an error.
 */
export function saveCodeCache(when: "missing" | "grown"): string[] {
  const written: string[] = [];
  for (const entry of registry.values()) {
    if (when === "missing" && entry.had > 0) continue;
    try {
      const data = entry.script.createCachedData();
      // 5%: a few newly compiled helpers are not worth a write; a request path is.
      if (when === "grown" && data.length <= entry.had * 1.05) continue;
      const tmp = `${entry.file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, data);
      fs.renameSync(tmp, entry.file);
      entry.had = data.length;
      written.push(entry.file);
      pruneSuperseded(entry.file);
    } catch {
      // read-only or full temp dir: run without
    }
  }
  return written;
}
