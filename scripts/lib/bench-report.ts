// What `pnpm bench` measured, kept: every table a benchmark prints is also written, with the
// machine and the commit, to scripts/bench/results/<benchmark>.json (`--json` prints that JSON
// instead of the tables). `pnpm bench compare <old.json> <new.json>` puts two runs side by side,
// cell by cell. The storage benchmark also draws scripts/bench/results/storage.svg: Keel's
// throughput as a ratio of each baseline, per scenario, against the 1.0 line.
// (Results live under scripts/: the repository's top-level layout is fixed.)
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { ROOT } from "./project.ts";

export const RESULTS = path.join(ROOT, "scripts", "bench", "results");

export interface Table {
  title: string;
  rows: string[][];
}

const tables: Table[] = [];
const json = process.argv.includes("--json");

/** Print a table (first row = header) and keep it for the results file. */
export function table(title: string, rows: string[][]): void {
  tables.push({ title, rows });
  if (json) return;
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  console.log(`\n${title}`);
  for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  "));
}

/** Write scripts/bench/results/<what>.json (and print it with --json); returns its path. */
export function saveResults(what: string): string {
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    // not a git checkout
  }
  const doc = {
    benchmark: what,
    date: new Date().toISOString(),
    commit,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? "unknown", memory_gib: Math.round(os.totalmem() / 2 ** 30) },
    tables: tables.map((t) => ({ title: t.title, columns: t.rows[0], rows: t.rows.slice(1) })),
  };
  fs.mkdirSync(RESULTS, { recursive: true });
  const file = path.join(RESULTS, `${what}.json`);
  fs.writeFileSync(file, JSON.stringify(doc, null, 2) + "\n");
  if (json) console.log(JSON.stringify(doc, null, 2));
  else console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
  return file;
}

type Doc = { benchmark: string; date: string; commit: string; tables: { title: string; columns: string[]; rows: string[][] }[] };

/** Two result files side by side: every numeric cell as old → new (change). */
export function compare(oldFile: string, newFile: string): void {
  const read = (f: string): Doc => {
    try {
      return JSON.parse(fs.readFileSync(f, "utf8")) as Doc;
    } catch (e) {
      throw new Error(`${f}: not a bench results file (${(e as Error).message})`);
    }
  };
  const [a, b] = [read(oldFile), read(newFile)];
  console.log(`${a.benchmark}: ${a.commit} (${a.date}) → ${b.commit} (${b.date})`);
  for (const t of b.tables) {
    const old = a.tables.find((x) => x.title === t.title);
    const rows = [t.columns];
    for (const r of t.rows) {
      const o = old?.rows.find((x) => x[0] === r[0]);
      rows.push(r.map((cell, i) => {
        const [x, y] = [Number(o?.[i]), Number(cell)];
        if (i === 0 || !o || !Number.isFinite(x) || !Number.isFinite(y) || o[i] === "" || cell === "") return cell;
        return `${o[i]} → ${cell}${x ? ` (${y >= x ? "+" : ""}${(((y - x) / x) * 100).toFixed(0)}%)` : ""}`;
      }));
    }
    table(t.title, rows);
  }
}

/** A bar chart of ratios (one group per label, one bar per series) with a line at 1.0, as SVG. */
export function ratioChart(title: string, labels: string[], series: { name: string; color: string; values: (number | null)[] }[]): string {
  const max = Math.max(1.2, ...series.flatMap((s) => s.values.filter((v): v is number => v !== null))) * 1.1;
  const [W, H, left, top, bottom] = [760, 360, 60, 40, 90];
  const plotH = H - top - bottom;
  const group = (W - left - 20) / labels.length;
  const bar = Math.min(28, (group - 12) / series.length);
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const esc = (s: string) => s.replace(/[<&>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`,
  ];
  for (let t = 0; t <= max; t += max > 4 ? 1 : 0.5) out.push(`<text x="${left - 6}" y="${y(t) + 4}" text-anchor="end" fill="#555">${t.toFixed(1)}×</text>`, `<line x1="${left}" x2="${W - 20}" y1="${y(t)}" y2="${y(t)}" stroke="#eee"/>`);
  out.push(`<line x1="${left}" x2="${W - 20}" y1="${y(1)}" y2="${y(1)}" stroke="#c00" stroke-dasharray="5,4"/>`, `<text x="${left + 4}" y="${y(1) - 4}" fill="#c00">baseline = 1.0</text>`);
  labels.forEach((label, i) => {
    const x0 = left + i * group + (group - bar * series.length) / 2;
    series.forEach((s, k) => {
      const v = s.values[i];
      if (v === null) return;
      out.push(`<rect x="${x0 + k * bar}" y="${y(v)}" width="${bar - 2}" height="${top + plotH - y(v)}" fill="${s.color}"><title>${esc(`${s.name}: ${v.toFixed(2)}×`)}</title></rect>`);
      out.push(`<text x="${x0 + k * bar + (bar - 2) / 2}" y="${y(v) - 3}" text-anchor="middle" font-size="10">${v.toFixed(2)}</text>`);
    });
    out.push(`<text x="${left + i * group + group / 2}" y="${top + plotH + 16}" text-anchor="middle">${esc(label)}</text>`);
  });
  series.forEach((s, k) => out.push(`<rect x="${left + k * 320}" y="${H - 30}" width="12" height="12" fill="${s.color}"/>`, `<text x="${left + k * 320 + 18}" y="${H - 20}">${esc(s.name)}</text>`));
  out.push("</svg>");
  return out.join("\n") + "\n";
}
