// host/src/glue.ts: the jco glue reads JCO_DEBUG once per load, not once per lowered call, and
// its `instantiate` is compiled with the module (so V8's compile cache keeps it).
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { eagerInstantiate, quietDebugLog } from "../src/glue.ts";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const JCO_FORM = `  const _debugLog = (...args) => {
    if (!globalThis?.process?.env?.JCO_DEBUG) { return; }
    console.debug(...args);
  };
`;

describe("transpiled glue", () => {
  it("reads JCO_DEBUG once: the per-call check is replaced", () => {
    const out = quietDebugLog(`x;\n${JCO_FORM}y;`);
    expect(out).not.toContain("if (!globalThis?.process?.env?.JCO_DEBUG)");
    expect(out).toContain("const _debugLog = globalThis?.process?.env?.JCO_DEBUG ? (...args) => console.debug(...args) : () => {};");
    // Still a function either way.
    const f = new Function(`${quietDebugLog(JCO_FORM)}; return _debugLog;`)();
    expect(typeof f).toBe("function");
  });

  it("the built components' glue carries the patch (what jco writes has not changed shape)", (ctx) => {
    const glue = path.join(ROOT, "dist/host/gateway/gateway.js");
    if (!fs.existsSync(glue)) ctx.skip("dist/host is not built (pnpm build)");
    const js = fs.readFileSync(glue, "utf8");
    expect(js).toContain("const _debugLog = globalThis?.process?.env?.JCO_DEBUG ?");
    expect(js).not.toContain("if (!globalThis?.process?.env?.JCO_DEBUG) { return; }");
  });

  it("instantiate is wrapped in parentheses, and still returns what it did", async () => {
    const glue = "const a = 1;\nexport function instantiate(x) {\n  if (x) {\n    return a + x;\n  }\n  return 0;\n};\n\nexport const _util = {\n}\n";
    const out = eagerInstantiate(glue);
    expect(out).toContain("export const instantiate = (function instantiate(x) {");
    expect(out).toContain("\n});\n");
    const url = `data:text/javascript,${encodeURIComponent(out)}`;
    const mod = (await import(url)) as { instantiate(x: number): number };
    expect(mod.instantiate(2)).toBe(3);
    expect(mod.instantiate(0)).toBe(0);
  });

  it("glue of another shape is left as it is", () => {
    const twoCloses = "export function instantiate() {\n};\nfunction g() {\n};\n";
    expect(eagerInstantiate(twoCloses)).toBe(twoCloses);
    const noExport = "function instantiate() {\n};\n";
    expect(eagerInstantiate(noExport)).toBe(noExport);
  });

  it("every built component's glue has its instantiate compiled eagerly", (ctx) => {
    const dir = path.join(ROOT, "dist/host");
    if (!fs.existsSync(dir)) ctx.skip("dist/host is not built (pnpm build)");
    const names = fs.readdirSync(dir).filter((n) => fs.existsSync(path.join(dir, n, `${n}.js`)));
    expect(names.length).toBeGreaterThan(5);
    for (const n of names) expect(fs.readFileSync(path.join(dir, n, `${n}.js`), "utf8"), n).toContain("export const instantiate = (function instantiate(");
  });
});
