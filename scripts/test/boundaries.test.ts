// The boundary check against small fixture trees: a clean one passes, forbidden imports fail
// with the file and the import named.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { ROOT } from "../lib/project.ts";
import { checkBoundaries, importsOf } from "../lib/boundaries.ts";

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** A tree with components a and b and package p; `files` adds or replaces sources. */
function fixture(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "keel-boundaries-"));
  dirs.push(root);
  const all: Record<string, string> = {
    "components/a/package.json": JSON.stringify({ name: "@keel/a", dependencies: { "@keel/p": "workspace:*" } }),
    "components/a/src/component.ts": `import { helper } from "@keel/p";\nimport * as kv from "keel:storage/kv@0.1.0";\nexport const x = helper;\n`,
    "components/b/package.json": JSON.stringify({ name: "@keel/b" }),
    "components/b/src/logic.ts": `export const y = 1;\n`,
    "packages/p/package.json": JSON.stringify({ name: "@keel/p" }),
    "packages/p/src/index.ts": `export const helper = 1;\n`,
    ...files,
  };
  for (const [rel, text] of Object.entries(all)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
  return root;
}

const runScript = (root: string) =>
  spawnSync(process.execPath, [path.join(ROOT, "scripts/check-boundaries.ts"), "--root", root], { encoding: "utf8" });

describe("boundary check", () => {
  it("passes a tree where components import only WIT and packages, and prints the graph", () => {
    const root = fixture({});
    expect(checkBoundaries(root).violations).toEqual([]);
    const r = runScript(root);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/component:a\s+→ p/);
  });

  it("fails when a component imports another component's source, naming file and import", () => {
    const root = fixture({ "components/a/src/sideways.ts": `import { y } from "../../b/src/logic.ts";\nexport const z = y;\n` });
    const r = runScript(root);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`components/a/src/sideways.ts: import "../../b/src/logic.ts"`);
    expect(r.stderr).toMatch(/component:a imports component:b's source/);
  });

  it("fails when a component's test imports another component's test helper", () => {
    const root = fixture({ "components/a/test/x.test.ts": `import { y } from "../../b/test/helper.ts";\n` });
    expect(checkBoundaries(root).violations.map((v) => v.file)).toEqual(["components/a/test/x.test.ts"]);
  });

  it("fails when a package imports a component (by path or by package name)", () => {
    const root = fixture({
      "packages/p/src/up.ts": `import { y } from "../../../components/b/src/logic.ts";\n`,
      "packages/p/src/up2.ts": `export { x } from "@keel/a";\n`,
    });
    const v = checkBoundaries(root).violations;
    expect(v.map((x) => `${x.file} ${x.specifier}`)).toEqual(["packages/p/src/up.ts ../../../components/b/src/logic.ts", "packages/p/src/up2.ts @keel/a"]);
    expect(v[0].reason).toMatch(/packages sit below the components/);
  });

  it("fails on an undeclared package and on packages importing each other in a cycle", () => {
    const root = fixture({
      "components/b/src/uses.ts": `import { helper } from "@keel/p";\n`,
      "packages/q/package.json": JSON.stringify({ name: "@keel/q", dependencies: { "@keel/p": "workspace:*" } }),
      "packages/q/src/index.ts": `import { helper } from "@keel/p";\nexport const q = helper;\n`,
      "packages/p/package.json": JSON.stringify({ name: "@keel/p", dependencies: { "@keel/q": "workspace:*" } }),
      "packages/p/src/index.ts": `export const helper = 1;\nexport { q } from "@keel/q";\n`,
    });
    const reasons = checkBoundaries(root).violations.map((v) => v.reason);
    expect(reasons.some((r) => /component:b imports @keel\/p without declaring it/.test(r))).toBe(true);
    expect(reasons.some((r) => /cycle/.test(r))).toBe(true);
  });

  it("reads multi-line, type-only, side-effect and dynamic imports, not commented ones", () => {
    expect(importsOf(`import {\n  a,\n  b,\n} from "x";\nimport type { T } from "y";\nimport "z";\nconst m = await import("w");\n// import { no } from "nope";\n/* import q from "nope2" */\nexport * from "v";\n`).sort())
      .toEqual(["v", "w", "x", "y", "z"]);
  });

  it("the repository itself passes", () => {
    expect(checkBoundaries(ROOT).violations).toEqual([]);
  });
});
