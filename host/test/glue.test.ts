// host/src/glue.ts: the jco glue reads JCO_DEBUG once per load, not once per lowered call.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { quietDebugLog } from "../src/glue.ts";

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
});
