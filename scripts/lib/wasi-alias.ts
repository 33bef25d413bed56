// Building a wasi:http component with QuickJS (componentize-qjs 0.4.5), which cannot do it
// directly: while pre-initialising a component it stubs every import it does not know (wasi:http)
// with traps *before* linking the real WASI (wasi:io …), so the stubbed wasi:http/types refers
// to a different `wasi:io/error` and `wasi:io/streams` resource type than the real ones and
// linking fails ("instance export `io-error` has the wrong type: mismatched resource types").
// Upstream: https://github.com/andreiltd/componentize-qjs (crates/core/src/lib.rs, wizer_init:
// define_unknown_imports_as_traps, then wasmtime_wasi add_to_linker with shadowing).
//
// The way around it, with no patched tool:
//  1. build against WIT where every `wasi:` package is renamed `wasx:` (aliasWit), so all the
//     component's own WASI imports are unknown to the pre-initialiser and stubbed alike (its
//     stub resources are all one host type, so they agree with each other);
//  2. then wac-compose the result once (restoreWasiNames): each `wasx:` import is fed from the
//     matching `wasi:` import of the outer component, shared with the runtime's own `wasi:`
//     imports, and each `wasx:` export is re-exported under its `wasi:` name. Nothing of the
//     alias is left in the output: it imports and exports plain WASI 0.2.
import fs from "node:fs";
import path from "node:path";

export const ALIAS = "wasx";

/** WIT text with every `wasi:` package reference renamed `wasx:`. */
export function aliasWit(text: string): string {
  return text.replace(/\bwasi:/g, `${ALIAS}:`);
}

interface Items {
  imports: string[];
  exports: string[];
}

/** Interface imports and exports of a component, from the WIT jco prints for it. */
export function interfaceItems(wit: string): Items {
  const items: Items = { imports: [], exports: [] };
  for (const m of wit.matchAll(/^\s*(import|export) ([a-z0-9-]+:[a-z0-9-]+\/[a-z0-9-]+@[0-9.]+);$/gm)) {
    (m[1] === "import" ? items.imports : items.exports).push(m[2]);
  }
  return items;
}

/** The wac document that re-binds a `wasx:`-aliased component to plain WASI. */
export function restoreWac(items: Items): string {
  const wasiName = (n: string) => n.replace(new RegExp(`^${ALIAS}:`), "wasi:");
  const aliased = items.imports.filter((n) => n.startsWith(`${ALIAS}:`));
  const lines = ["package keel:wasi-alias;", ""];
  const ids = new Map<string, string>();
  for (const [i, name] of aliased.entries()) {
    ids.set(wasiName(name), `i${i}`);
    lines.push(`import i${i}: ${wasiName(name)};`);
  }
  lines.push("", "let c = new raw:component {");
  for (const name of items.imports) {
    const id = ids.get(wasiName(name));
    if (id) lines.push(`  "${name}": ${id},`);
  }
  lines.push("  ...", "};", "");
  for (const name of items.exports) {
    lines.push(name.startsWith(`${ALIAS}:`) ? `export c["${name}"] as "${wasiName(name)}";` : `export c["${name}"];`);
  }
  return lines.join("\n") + "\n";
}

/**
 * wac resolves `wasi:<pkg>/<iface>@<v>` from `<deps>/wasi/<pkg>/<v>/` (a WIT dir with its own
 * deps); lay out the repo's wit/deps that way.
 */
function stageWacDeps(root: string, out: string): string {
  const src = path.join(root, "wit", "deps");
  fs.rmSync(out, { recursive: true, force: true });
  const pkgs = fs.readdirSync(src).filter((d) => d.startsWith("wasi-"));
  for (const p of pkgs) {
    const text = fs.readFileSync(path.join(src, p, "package.wit"), "utf8");
    const m = /^package wasi:([a-z-]+)@([0-9.]+);/m.exec(text);
    if (!m) throw new Error(`wit/deps/${p}/package.wit: no 'package wasi:<name>@<version>;' line`);
    const dir = path.join(out, "wasi", m[1], m[2]);
    fs.mkdirSync(path.join(dir, "deps"), { recursive: true });
    fs.copyFileSync(path.join(src, p, "package.wit"), path.join(dir, "package.wit"));
    for (const q of pkgs) if (q !== p) fs.cpSync(path.join(src, q), path.join(dir, "deps", q), { recursive: true });
  }
  return out;
}

/** `raw` (built against aliased WIT) → `out`, importing and exporting plain `wasi:` names. */
export async function restoreWasiNames(raw: string, out: string, wac: (args: string[]) => void, buildDir: string): Promise<void> {
  const { componentWit } = await import("@bytecodealliance/jco");
  const items = interfaceItems(await componentWit(fs.readFileSync(raw)));
  const name = path.basename(raw, ".wasm");
  const doc = path.join(buildDir, "raw", `${name}.wac`);
  fs.writeFileSync(doc, restoreWac(items));
  const deps = stageWacDeps(path.resolve(buildDir, ".."), path.join(buildDir, "wac-deps"));
  wac(["compose", "--deps-dir", deps, "--dep", `raw:component=${raw}`, "-o", out, doc]);
}
