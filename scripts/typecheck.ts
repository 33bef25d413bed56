// `pnpm typecheck`: generate the WIT types (scripts/gen-types.ts), then strict tsc over
// tsconfig.json (everything, as Node sees it) and over each component's own tsconfig.json
// (QuickJS's view: no Node or DOM globals, only the WIT of that component's world).
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { ROOT } from "./lib/project.ts";
import { genTypes } from "./gen-types.ts";

const t0 = Date.now();
await genTypes();
// typescript 7 exports no bin path: its package.json sits beside bin/tsc.
const tsc = path.join(path.dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin", "tsc");
const projects = [
  "tsconfig.json",
  ...["components", "examples"].flatMap((d) =>
    fs.readdirSync(path.join(ROOT, d)).map((n) => `${d}/${n}/tsconfig.json`).filter((f) => fs.existsSync(path.join(ROOT, f))),
  ),
];
let failed = 0;
for (const p of projects) {
  const r = spawnSync(process.execPath, [tsc, "-p", p, "--pretty", "false"], { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`[typecheck] ${p}: errors above\n`);
  }
}
process.stderr.write(`[typecheck] ${projects.length - failed}/${projects.length} projects clean in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
process.exit(failed ? 1 : 0);
