// The code cache (code-cache.ts) in fresh processes, as a host start uses it: a start with no
// cache writes one, the next start's V8 takes it, a cache made after calls holds more than one
// made at load, a damaged cache is only a slower start, and "off" writes nothing. Also the glue
// as a script (glue.ts glueScript), on the real transpiled components.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { glueScript, glueScriptFile } from "../src/glue.ts";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const CODE_CACHE = path.join(ROOT, "host", "src", "code-cache.ts");

// A script with a function worth compiling: V8 compiles `work` lazily, on its first call.
const SOURCE = `(function () {
  function work(n) { let s = 0; for (let i = 0; i < n; i++) s += (i * 7) % 13; return s; }
  ${Array.from({ length: 40 }, (_, i) => `function helper${i}(x) { return work(x + ${i}) + ${i}; }`).join("\n  ")}
  return { work, all: () => [${Array.from({ length: 40 }, (_, i) => `helper${i}(10)`).join(", ")}] };
})`;

/** Runs the script in a fresh Node: load, optionally call everything, save; prints codeCacheState. */
function start(dir: string | "off", opts: { call?: boolean; save?: "missing" | "grown"; source?: string } = {}) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "keel-code-cache-test-"));
  const runner = path.join(work, "runner.ts");
  fs.writeFileSync(runner, `
import { runCached, saveCodeCache, codeCacheState } from ${JSON.stringify(CODE_CACHE)};
const lib = (runCached("/keel-test/lib.js", ${JSON.stringify(opts.source ?? SOURCE)}) as () => { all(): number[] })();
if (${opts.call === true}) lib.all();
const written = ${opts.save ? `saveCodeCache(${JSON.stringify(opts.save)})` : "[]"};
console.log(JSON.stringify({ ...codeCacheState(), written }));
`);
  const r = spawnSync(process.execPath, [runner], { env: { ...process.env, KEEL_CODE_CACHE: dir }, encoding: "utf8" });
  fs.rmSync(work, { recursive: true, force: true });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { scripts: number; cached: number; used: boolean; written: string[] };
}

const files = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.startsWith("lib.js~")) : []);

describe("code cache", () => {
  it("a start without a cache writes one, and the next start's V8 takes it", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keel-cc-"));
    const first = start(dir, { save: "missing" });
    expect(first).toMatchObject({ scripts: 1, cached: 0 });
    expect(first.written).toHaveLength(1);
    expect(files(dir)).toHaveLength(1);
    // Taken: nothing to write for "missing" now.
    const second = start(dir, { save: "missing" });
    expect(second).toMatchObject({ scripts: 1, cached: 1, written: [] });
  });

  it("after calls the cache has grown and is rewritten once; calls it already holds write nothing", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keel-cc-"));
    start(dir, { save: "missing" });
    const [file] = files(dir);
    const atLoad = fs.statSync(path.join(dir, file)).size;
    const warm = start(dir, { call: true, save: "grown" });
    expect(warm.cached).toBe(1);
    expect(warm.written).toHaveLength(1);
    expect(fs.statSync(path.join(dir, file)).size).toBeGreaterThan(atLoad * 1.05);
    // The next start finds the called functions in the cache: the same calls add nothing.
    expect(start(dir, { call: true, save: "grown" }).written).toEqual([]);
  });

  it("a new content's cache replaces the old one's", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keel-cc-"));
    start(dir, { save: "missing" });
    const [old] = files(dir);
    const changed = SOURCE.replace("* 7", "* 11");
    expect(start(dir, { save: "missing", source: changed }).written).toHaveLength(1);
    expect(files(dir)).toHaveLength(1);
    expect(files(dir)[0]).not.toBe(old);
    expect(start(dir, { source: changed }).cached).toBe(1);
  });

  it("a damaged cache is refused by V8 and replaced; the script still runs", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keel-cc-"));
    start(dir, { save: "missing" });
    const [file] = files(dir);
    const bytes = fs.readFileSync(path.join(dir, file));
    bytes.fill(0x5a, 0, 64);
    fs.writeFileSync(path.join(dir, file), bytes);
    const r = start(dir, { call: true, save: "missing" });
    expect(r).toMatchObject({ scripts: 1, cached: 0 });
    expect(r.written).toHaveLength(1);
    expect(start(dir, {}).cached).toBe(1);
  });

  it("an unwritable cache dir is a start without a cache, not an error", () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), "keel-cc-"));
    const notADir = path.join(parent, "file");
    fs.writeFileSync(notADir, "x");
    const r = start(path.join(notADir, "cache"), { save: "missing" });
    expect(r).toMatchObject({ scripts: 0, cached: 0, used: false, written: [] });
  });

  it("a cache dir others can write to is not used (V8 runs what a cache holds)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keel-cc-"));
    start(dir, { save: "missing" });
    expect(files(dir)).toHaveLength(1);
    fs.chmodSync(dir, 0o777);
    const r = start(dir, { call: true, save: "missing" });
    expect(r).toMatchObject({ scripts: 0, cached: 0, used: false, written: [] });
  });

  it("a cache dir it makes is this user's alone (0700)", () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "keel-cc-")), "made");
    start(dir, { save: "missing" });
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('KEEL_CODE_CACHE=off compiles without a cache and writes nothing', () => {
    const r = start("off", { call: true, save: "missing" });
    expect(r).toMatchObject({ scripts: 0, cached: 0, used: false, written: [] });
  });
});

describe("glue as a script", () => {
  it("every transpiled component's glue was written as a script too, which gives its exports", () => {
    const dir = path.join(ROOT, "dist", "host");
    const names = fs.readdirSync(dir).filter((n) => fs.existsSync(path.join(dir, n, `${n}.js`)));
    expect(names).toContain("gateway");
    for (const n of names) {
      const script = glueScript(fs.readFileSync(path.join(dir, n, `${n}.js`), "utf8"));
      expect(script, n).toBeDefined();
      expect(fs.readFileSync(path.join(dir, n, glueScriptFile(n)), "utf8"), n).toBe(script);
      // eslint-disable-next-line no-eval -- what vm.Script runs, in this test's context
      const exports = (0, eval)(script!)() as Record<string, unknown>;
      expect(typeof exports.instantiate, n).toBe("function");
    }
  });

  it("glue of another shape is left to the ES module loader", () => {
    expect(glueScript("import x from 'y';\nexport const instantiate = () => x;\n")).toBeUndefined();
    expect(glueScript("export const instantiate = 1;\nexport default 2;\n")).toBeUndefined();
    expect(glueScript("export function instantiate() {}\n")).toBeUndefined();
    expect(glueScript("export const instantiate = () => import.meta.url;\n")).toBeUndefined();
    expect(glueScript("const a = 1;\n")).toBeUndefined();
  });

  it("keeps module semantics (strict mode) and the glue's line numbers", () => {
    const script = glueScript("export const instantiate = function () { return this; };\nexport const where = () => new Error('x').stack;\n")!;
    const exports = (0, eval)(script)() as { instantiate(): unknown; where(): string };
    const { instantiate } = exports;
    expect(instantiate()).toBeUndefined();
    expect(exports.where()).toMatch(/<anonymous>:2:/);
  });
});
