// The counter plug-in in C (examples/merge-counter-c) against the TypeScript one
// (examples/merge-counter), both as built components: the same bytes out for the same values
// in, or both decline. Plus what the C build promises: no imports at all, and bindings in the
// repo that are what wit-bindgen makes from the WIT. Convergence is in convergence.test.ts.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Version } from "@keel/model";
import { ROOT } from "../helpers/nodes.ts";
import { componentFile, loadMergePlugin, skipUnbuilt, type MergeOutcome } from "../helpers/merge-plugin.ts";
import { stageWit } from "../../scripts/lib/stage-wit.ts";

const C = "merge-counter-c";
const enc = (s: string) => new TextEncoder().encode(s);
const version = (value: string | null, node = "edge-a"): Version => ({ stamp: { wallMs: 1000, counter: 0, node }, origin: "edge", value: value === null ? null : enc(value) });
const shown = (o: MergeOutcome) => ("error" in o ? "declined" : o.value === null ? "none" : Buffer.from(o.value).toString("latin1"));

/**
 * Counter values as users' nodes may write them, and as they should not: raw JSON text. Node
 * names are raw UTF-8 or ASCII escapes; `\u` escapes above \u007f are left out: the TypeScript
 * component reads and writes the value one byte per character and truncates them
 * (README.md § Same semantics).
 */
const node = fc.oneof(
  fc.constantFrom("edge-a", "edge-b", "cloud-1", "__proto__", "a\"b", "x\\y", "é", "日本"),
  fc.string({ unit: "binary-ascii", maxLength: 5 }), // quotes, backslashes, control characters
  fc.string({ unit: "grapheme", maxLength: 3 }), // any Unicode, written as raw UTF-8
);
const count = fc.oneof(
  { weight: 6, arbitrary: fc.nat({ max: 1000 }).map(String) },
  { weight: 3, arbitrary: fc.nat({ max: 1000 }).chain((n) => fc.constantFrom(`${n}.0`, `${n}e0`, `${n * 10}e-1`, `${n}E+1`, `${n}.5`, `-${n + 1}`)) },
  fc.constantFrom("-0", "0.0", "9007199254740991", "9007199254740992", "1e16", "1e15", "01", "1.", ".5", "-", "1e"),
  fc.constantFrom('"3"', "null", "true", "[1,2]", '{"n":1}', "[", "nul"),
);
const ws = fc.constantFrom("", " ", "\n", "\t ");
const object = fc.array(fc.tuple(node, count, ws), { maxLength: 5 }).map((es) => `{${es.map(([k, v, w]) => `${JSON.stringify(k)}${w}:${w}${v}`).join(",")}}`);
const value = fc.oneof(
  { weight: 8, arbitrary: object },
  fc.constant(null),
  fc.constantFrom("", "{}", "[]", "3", '"x"', "{} {}", '{"a":1', '{"a":1,}', "\u00ff", " {\"a\": 2 } "),
  fc.string({ maxLength: 12 }),
);

describe("the counter plug-in in C (examples/merge-counter-c)", () => {
  it("merges exactly as the TypeScript plug-in: same bytes, or both decline", (ctx) => {
    const c = loadMergePlugin(C);
    if (!c) return skipUnbuilt(ctx, C);
    const ts = loadMergePlugin("merge-counter");
    if (!ts) return skipUnbuilt(ctx, "merge-counter");
    fc.assert(
      fc.property(value, value, (l, r) => {
        const [a, b] = [c("counters/k", version(l), version(r, "edge-b")), ts("counters/k", version(l), version(r, "edge-b"))];
        expect(shown(a)).toBe(shown(b));
      }),
      { numRuns: 3000 },
    );
  });

  it("adds up every node's increments once, and says why it declines", (ctx) => {
    const c = loadMergePlugin(C);
    if (!c) return skipUnbuilt(ctx, C);
    expect(shown(c("k", version('{"edge-1":3}'), version('{"edge-2":4,"edge-1":1}')))).toBe('{"edge-1":3,"edge-2":4}');
    expect(shown(c("k", version(null), version(null)))).toBe("{}");
    expect(c("k", version('{"edge-1":-1}'), version("{}"))).toEqual({ error: "unmergeable: count for edge-1 must be a whole number ≥ 0" });
    expect(c("k", version("[1]"), version("{}"))).toEqual({ error: "unmergeable: counter value must be a JSON object of node → count" });
    expect(c("k", version("{"), version("{}"))).toEqual({ error: "unmergeable: counter value is not JSON" });
    // A value near the resolver's 1 MB limit: 40,000 nodes.
    const big = (k: number) => JSON.stringify(Object.fromEntries(Array.from({ length: 40_000 }, (_, i) => [`node-${i}`, i * k])));
    const merged = c("k", version(big(1)), version(big(2)));
    expect("value" in merged && merged.value && JSON.parse(Buffer.from(merged.value).toString())["node-39999"]).toBe(79998);
  });

  it("imports nothing: its world only exports keel:conflict/merge, and no WASI adapter is in it", async (ctx) => {
    if (!fs.existsSync(componentFile(C))) return skipUnbuilt(ctx, C);
    const { componentWit } = await import("@bytecodealliance/jco");
    const wit = await componentWit(fs.readFileSync(componentFile(C)));
    expect([...wit.matchAll(/^\s*(import|export) ([^;]+);/gm)].map((m) => `${m[1]} ${m[2]}`)).toEqual(["export keel:conflict/merge@0.1.0"]);
    const cores = fs.readdirSync(path.join(ROOT, "dist", "host", C)).filter((f) => f.endsWith(".wasm"));
    expect(cores).toHaveLength(1);
    expect(WebAssembly.Module.imports(new WebAssembly.Module(fs.readFileSync(path.join(ROOT, "dist", "host", C, cores[0]))))).toEqual([]);
  });

  it("its bindings (gen/) are what wit-bindgen 0.63.0 makes from wit/conflict", (ctx) => {
    const skip = (why: string) => (console.warn(`skipped: ${why}`), ctx.skip(why));
    let version = "";
    try {
      version = execFileSync("wit-bindgen", ["--version"], { encoding: "utf8" });
    } catch {
      return skip("wit-bindgen is not installed (pnpm run setup -- --wit-bindgen, or cargo install wit-bindgen-cli@0.63.0 --locked)");
    }
    if (!version.includes(" 0.63.0")) return skip(`wit-bindgen is ${version.trim()}; gen/ was made with 0.63.0`);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "keel-wit-bindgen-"));
    const wit = stageWit("conflict", false, path.join(out, "wit"));
    execFileSync("wit-bindgen", ["c", "--world", "merge-plugin", "--no-object-file", "--out-dir", out, wit], { stdio: "ignore" });
    for (const f of ["merge_plugin.c", "merge_plugin.h"]) {
      expect(fs.readFileSync(path.join(out, f), "utf8"), `${f} is stale: regenerate it (examples/merge-counter-c/README.md)`).toBe(fs.readFileSync(path.join(ROOT, "examples", C, "gen", f), "utf8"));
    }
  });
});
