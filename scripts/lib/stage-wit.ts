// Staging a keel WIT package for the tools that read one directory (componentize, wac, jco types).
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "./project.ts";
import { aliasWit } from "./wasi-alias.ts";

/**
 * A WIT dir for one package: its own files plus every other keel package and WASI as deps.
 * `aliasWasi` renames every `wasi:` package to `wasx:` (see wasi-alias.ts: how the gateway is
 * built with QuickJS although componentize-qjs 0.4.5 cannot build a wasi:http world).
 */
export function stageWit(pkg: string, aliasWasi = false, into = path.join(ROOT, "build", aliasWasi ? "wit-wasx" : "wit")): string {
  const dir = path.join(into, pkg);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, "deps"), { recursive: true });
  const witRoot = path.join(ROOT, "wit");
  const copy = (from: string, to: string) => {
    if (fs.statSync(from).isDirectory()) {
      fs.mkdirSync(to, { recursive: true });
      for (const f of fs.readdirSync(from)) copy(path.join(from, f), path.join(to, f));
    } else {
      const text = fs.readFileSync(from, "utf8");
      fs.writeFileSync(to, aliasWasi ? aliasWit(text) : text);
    }
  };
  for (const f of fs.readdirSync(path.join(witRoot, pkg))) copy(path.join(witRoot, pkg, f), path.join(dir, f));
  for (const other of fs.readdirSync(witRoot)) {
    if (other === pkg) continue;
    if (other === "deps") {
      for (const d of fs.readdirSync(path.join(witRoot, "deps"))) copy(path.join(witRoot, "deps", d), path.join(dir, "deps", d));
    } else {
      copy(path.join(witRoot, other), path.join(dir, "deps", `keel-${other}`));
    }
  }
  return dir;
}
