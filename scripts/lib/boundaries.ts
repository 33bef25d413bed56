// The import rule between the parts of the repo: imports only run downward.
//   components/<x>  may import WIT (`keel:*`, `wasi:*`), outside libraries and `@keel/*` packages;
//                   never another component's files, nor host/, scripts/ or tests/
//   packages/<x>    may import outside libraries and other packages (no cycles); never a component
//   host/, scripts/ sit above and may import anything
// Every finding names the file and the import. The graph (who uses which package) is printed too.
import fs from "node:fs";
import path from "node:path";

/** What a file belongs to: `component:storage`, `package:model`, or `host` / `scripts` / `tests` / `examples`. */
export type Unit = string;

export interface Violation {
  file: string;
  specifier: string;
  reason: string;
}

export interface BoundaryReport {
  violations: Violation[];
  /** Unit → the `package:*` units it imports (components and packages only). */
  graph: Map<Unit, Set<Unit>>;
  files: number;
}

const SCANNED = ["components", "packages", "host", "scripts"];
const EXTENSIONS = [".ts", ".mts", ".mjs", ".js"];
const SKIP = new Set(["node_modules", "dist", "build"]);

function unitOf(root: string, file: string): Unit {
  const rel = path.relative(root, file).split(path.sep);
  if ((rel[0] === "components" || rel[0] === "packages") && rel.length > 2) return `${rel[0] === "components" ? "component" : "package"}:${rel[1]}`;
  return rel[0].startsWith("..") ? "outside" : rel[0];
}

function walk(dir: string, out: string[]): void {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name) || e.name.startsWith(".")) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (EXTENSIONS.some((x) => e.name.endsWith(x)) && !e.name.endsWith(".d.ts")) out.push(p);
  }
}

/** Import and re-export specifiers of a module (static, side-effect and dynamic with a literal). */
export function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const specs: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^;"'`]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) specs.push(m[1]);
  return specs;
}

/** Workspace package names (`@keel/<x>`) → the unit holding them, and each unit's declared deps. */
function workspace(root: string): { byName: Map<string, Unit>; deps: Map<Unit, Set<string>> } {
  const byName = new Map<string, Unit>();
  const deps = new Map<Unit, Set<string>>();
  for (const top of ["components", "packages"]) {
    const dir = path.join(root, top);
    if (!fs.existsSync(dir)) continue;
    for (const name of fs.readdirSync(dir)) {
      const pj = path.join(dir, name, "package.json");
      if (!fs.existsSync(pj)) continue;
      const unit = `${top === "components" ? "component" : "package"}:${name}`;
      const json = JSON.parse(fs.readFileSync(pj, "utf8")) as { name?: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
      if (json.name) byName.set(json.name, unit);
      deps.set(unit, new Set([...Object.keys(json.dependencies ?? {}), ...Object.keys(json.devDependencies ?? {})]));
    }
  }
  return { byName, deps };
}

export function checkBoundaries(root: string): BoundaryReport {
  const files: string[] = [];
  for (const top of SCANNED) walk(path.join(root, top), files);
  const { byName, deps } = workspace(root);
  const violations: Violation[] = [];
  const graph = new Map<Unit, Set<Unit>>();
  for (const file of files.sort()) {
    const from = unitOf(root, file);
    const layered = from.startsWith("component:") || from.startsWith("package:");
    if (layered && !graph.has(from)) graph.set(from, new Set());
    const rel = path.relative(root, file);
    for (const spec of importsOf(fs.readFileSync(file, "utf8"))) {
      let to: Unit | undefined;
      let pkgName: string | undefined;
      if (spec.startsWith(".")) {
        to = unitOf(root, path.resolve(path.dirname(file), spec));
      } else {
        pkgName = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
        to = byName.get(pkgName);
      }
      if (!to || to === from || !layered) continue;
      const bad = (reason: string) => violations.push({ file: rel, specifier: spec, reason });
      if (from.startsWith("component:")) {
        if (to.startsWith("component:")) bad(`${from} imports ${to}'s source; components talk only through WIT (keel:*) and share code through packages/`);
        else if (!to.startsWith("package:")) bad(`${from} imports ${to}/, which sits above the components`);
      } else if (to.startsWith("component:")) {
        bad(`${from} imports ${to}; packages sit below the components and never import them`);
      } else if (!to.startsWith("package:")) {
        bad(`${from} imports ${to}/, which sits above the packages`);
      }
      if (to.startsWith("package:")) {
        graph.get(from)!.add(to);
        if (pkgName && !deps.get(from)?.has(pkgName)) bad(`${from} imports ${pkgName} without declaring it ("${pkgName}": "workspace:*" in its package.json)`);
        if (!pkgName) bad(`${from} reaches into ${to} by a relative path; import it as its @keel/* package`);
      }
    }
  }
  for (const cycle of packageCycles(graph)) violations.push({ file: "packages/", specifier: cycle.join(" → "), reason: "packages import each other in a cycle" });
  return { violations, graph, files: files.length };
}

function packageCycles(graph: Map<Unit, Set<Unit>>): Unit[][] {
  const cycles: Unit[][] = [];
  const state = new Map<Unit, "open" | "done">();
  const visit = (u: Unit, stack: Unit[]) => {
    if (state.get(u) === "done") return;
    if (state.get(u) === "open") {
      cycles.push([...stack.slice(stack.indexOf(u)), u]);
      return;
    }
    state.set(u, "open");
    for (const v of graph.get(u) ?? []) if (v.startsWith("package:")) visit(v, [...stack, u]);
    state.set(u, "done");
  };
  for (const u of graph.keys()) if (u.startsWith("package:")) visit(u, []);
  return cycles;
}

/** The graph as a small table: one row per component and package, the packages it uses. */
export function formatGraph(graph: Map<Unit, Set<Unit>>): string {
  const rows = [...graph.entries()].sort(([a], [b]) => (a.startsWith("package:") === b.startsWith("package:") ? a.localeCompare(b) : a.startsWith("package:") ? 1 : -1));
  const width = Math.max(...rows.map(([u]) => u.length), 4);
  return rows.map(([u, uses]) => `${u.padEnd(width)}  → ${[...uses].sort().map((x) => x.slice("package:".length)).join(", ") || "(none)"}`).join("\n");
}
