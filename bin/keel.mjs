#!/usr/bin/env node
// `keel`, the operator command (`pnpm keel …`, `npx keel …`; scripts/keel/main.ts). Runs on any
// Node >= 18 like scripts/keel.mjs: on Node 24 the command runs here; on an older Node it runs
// under the Node 24 that scripts/keel.mjs keeps in ~/.cache/keel/tools (installed on first use),
// with this process's arguments, terminal and signals, and its exit code.
// NOTE: V8's compile cache (as in host/src/main.ts) keeps the stripped TypeScript and the
// libraries compiled between runs: a command starts in ~0.15 s instead of ~0.7 s.
import module from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ensureNode, forward } from "../scripts/keel.mjs";

const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "scripts", "keel", "main.ts");

if (Number(process.versions.node.split(".")[0]) >= 24) {
  module.enableCompileCache?.();
  const { main } = await import(pathToFileURL(entry).href);
  await main(process.argv.slice(2));
} else {
  const env = { NODE_COMPILE_CACHE: path.join(os.tmpdir(), "node-compile-cache"), ...process.env };
  forward(ensureNode(), [entry, ...process.argv.slice(2)], { env });
}
