// The Node host as `npm start` runs it: scripts/build.ts bundles this file into
// dist/node-host/main.cjs and the host (run.ts) into keel-node.cjs beside it. The bundle is
// compiled through code-cache.ts, so a start finds compiled not only what V8 compiles at
// load but what earlier requests compiled (code-cache.ts says why). Node's own compile cache
// goes on first, for this file and for whatever the bundle require()s.
import fs from "node:fs";
import module from "node:module";
import path from "node:path";
import { runCached } from "./code-cache.ts";

/** The bundle's content id, written in by the build (a hash of the bundle and of this file). */
declare const KEEL_BUNDLE_ID: string | undefined;

module.enableCompileCache?.();
const file = path.join(__dirname, "keel-node.cjs");
const wrapped = `(function (exports, require, module, __filename, __dirname) {${fs.readFileSync(file, "utf8")}\n})`;
const bundle = { exports: {} };
const id = typeof KEEL_BUNDLE_ID === "string" ? KEEL_BUNDLE_ID : undefined;
(runCached(file, wrapped, id) as (...args: unknown[]) => void)(bundle.exports, module.createRequire(file), bundle, file, path.dirname(file));
