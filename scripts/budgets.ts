// `pnpm budgets [--json]`: size of every built component and composition, raw and gzip,
// against its budget in deployment/edge.toml [budgets]. Exits 1 when anything is over budget,
// has no budget, or has not been built.
import fs from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { DIST, ROOT, readComponentsConfig } from "./lib/project.ts";
import { loadConfig } from "../host/src/config.ts";
import { cToolchain } from "./lib/c-toolchain.ts";

interface Row {
  name: string;
  file: string;
  raw: number;
  gzip: number;
  budget_raw: number | null;
  budget_gzip: number | null;
  ok: boolean;
  problem?: string;
  /** Not built because its optional toolchain is missing (engine c): why. */
  skipped?: string;
}

const json = process.argv.includes("--json");
// --suggest: print [budgets] lines 5% above what is measured now (then a 10% growth fails).
const suggest = process.argv.includes("--suggest");
// Budgets belong to the build, not to one node: always deployment/edge.toml.
const configFile = path.join(ROOT, "deployment", "edge.toml");
const { budgets } = loadConfig(configFile);
const cfg = readComponentsConfig();
const artifacts: [string, string][] = [
  ...Object.keys(cfg.components).filter((n) => !cfg.components[n].test_fixture).map((n): [string, string] => [n, path.join(DIST, "components", `${n}.wasm`)]),
  ...Object.keys(cfg.compositions).map((n): [string, string] => [`${n}.wasm`, path.join(DIST, `${n}.wasm`)]),
];

/**
 * Ceilings no budget may exceed: what an edge binary must fit (the edge-sized engine targets).
 * A component over 2 MB, or composed.wasm over 10 MB raw / 4 MB gzip, fails even when its
 * [budgets] line was raised to match, and so does dist/edge-lite.wasm (what a Pi Zero runs)
 * over 5 MB. The compositions fit because they store the QuickJS engine once
 * (scripts/lib/share-modules.ts).
 */
const MB = 1_000_000;
const CEILINGS: Record<string, { raw: number; gzip?: number; enforced: boolean }> = {
  "composed.wasm": { raw: 10 * MB, gzip: 4 * MB, enforced: true },
  "edge-lite.wasm": { raw: 5 * MB, enforced: true },
};
const COMPONENT_CEILING = 2 * MB;
const ceilingOf = (name: string) => CEILINGS[name] ?? (name.endsWith(".wasm") ? undefined : { raw: COMPONENT_CEILING, enforced: true });
const notes: string[] = [];

const rows: Row[] = artifacts.map(([name, file]) => {
  const budget = budgets[name];
  const rel = path.relative(ROOT, file);
  if (!fs.existsSync(file)) {
    // A component whose optional toolchain is missing is not built, by design: noted, not failed.
    const cc = cfg.components[name]?.engine === "c" ? cToolchain() : undefined;
    const skipped = cc && "missing" in cc ? cc.missing : undefined;
    if (skipped) notes.push(`${name}: not built (engine c): ${skipped}`);
    return { name, file: rel, raw: 0, gzip: 0, budget_raw: budget?.raw ?? null, budget_gzip: budget?.gzip ?? null, ok: skipped !== undefined, problem: "not built (run pnpm build)", skipped };
  }
  const bytes = fs.readFileSync(file);
  const row: Row = { name, file: rel, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length, budget_raw: budget?.raw ?? null, budget_gzip: budget?.gzip ?? null, ok: true };
  if (!budget) Object.assign(row, { ok: false, problem: `no budget in ${path.relative(ROOT, configFile)} [budgets]` });
  else if (row.raw > budget.raw || row.gzip > budget.gzip) Object.assign(row, { ok: false, problem: "over budget" });
  const ceiling = ceilingOf(name);
  if (ceiling && (row.raw > ceiling.raw || (ceiling.gzip !== undefined && row.gzip > ceiling.gzip))) {
    const what = `over the ${(ceiling.raw / MB).toFixed(0)} MB${ceiling.gzip ? ` / ${(ceiling.gzip / MB).toFixed(0)} MB gzip` : ""} ceiling for an edge binary`;
    if (ceiling.enforced) Object.assign(row, { ok: false, problem: what });
    else notes.push(`${name}: ${(row.raw / MB).toFixed(2)} MB, ${what} (target, not enforced yet)`);
  }
  return row;
});

const failed = rows.filter((r) => !r.ok);
if (suggest) {
  const up = (n: number) => Math.ceil((n * 1.05) / 1024) * 1024;
  for (const r of rows.filter((x) => !x.skipped)) {
    const key = r.name.includes(".") ? `"${r.name}"` : r.name;
    process.stdout.write(`${key.padEnd(15)} = { raw = ${String(up(r.raw)).padStart(8)}, gzip = ${String(up(r.gzip)).padStart(7)} }  # measured ${r.raw} / ${r.gzip}\n`);
  }
  process.exit(0);
}
if (json) {
  process.stdout.write(JSON.stringify({ ok: failed.length === 0, artifacts: rows }, null, 2) + "\n");
} else {
  const kb = (n: number | null) => (n === null ? "-" : `${(n / 1024).toFixed(0)} KiB`);
  const pct = (n: number, b: number | null) => (b ? `${((100 * n) / b).toFixed(0)}%` : "-");
  const lines = [["artifact", "raw", "budget", "use", "gzip", "budget", "use", ""]];
  for (const r of rows) {
    lines.push([r.name, kb(r.raw), kb(r.budget_raw), pct(r.raw, r.budget_raw), kb(r.gzip), kb(r.budget_gzip), pct(r.gzip, r.budget_gzip), r.skipped ? "skipped (see note)" : r.ok ? "ok" : `FAIL: ${r.problem}`]);
  }
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  for (const l of lines) process.stdout.write(l.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd() + "\n");
  for (const n of notes) process.stdout.write(`note: ${n}\n`);
  process.stdout.write(failed.length ? `budgets: ${failed.length} of ${rows.length} artifacts failed\n` : `budgets: all ${rows.length} artifacts within budget\n`);
}
process.exit(failed.length ? 1 : 0);
