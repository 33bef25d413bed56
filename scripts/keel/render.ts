// Human output of the `keel` command: tables (cli-table3) and colours (picocolors, which turns
// itself off when stdout is not a terminal, under NO_COLOR, and on FORCE_COLOR=0). Pure
// functions from the node's JSON to text, so tests check them without a node.
import Table from "cli-table3";
import pc from "picocolors";

type Json = Record<string, unknown>;

/** A table with a header row; cells are shown as text. */
export function table(head: string[], rows: unknown[][]): string {
  const t = new Table({ head: head.map((h) => pc.bold(h)), style: { head: [], border: [] } });
  for (const r of rows) t.push(r.map(cell));
  return t.toString();
}

/** Two columns: a name and its value. */
export function pairs(entries: [string, unknown][]): string {
  const t = new Table({ style: { head: [], border: [] } });
  for (const [k, v] of entries) t.push([pc.bold(k), cell(v)]);
  return t.toString();
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return pc.dim("—");
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

export function bytes(n: unknown): string {
  if (typeof n !== "number") return cell(n);
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

const since = (ms: unknown, nowMs: number) => (typeof ms === "number" && ms > 0 ? `${new Date(ms).toISOString()} (${Math.round((nowMs - ms) / 1000)} s ago)` : "never");

export function health(body: Json, url: string, ms: number): string {
  const ok = body.status === "ok";
  return `${ok ? pc.green("ok") : pc.red(String(body.status))}  ${url}  version ${cell(body.version)}  ${ms.toFixed(0)} ms`;
}

export function resources(r: Json): string {
  const ratio = typeof r.used_ratio === "number" ? `${(r.used_ratio * 100).toFixed(1)} %` : "no limit";
  return pairs([
    ["used", `${bytes(r.used_bytes)} of ${r.max_bytes ? bytes(r.max_bytes) : "unlimited"} (${ratio})`],
    ["keys", `${cell(r.keys)} (${bytes(r.kv_bytes)})`],
    ["topics", `${cell(r.topics)} (${bytes(r.log_bytes)})`],
    ["largest value", bytes(r.max_value_bytes)],
    ["eviction", r.eviction],
  ]);
}

interface Lag {
  name: string;
  records: number;
  oldest_seconds: number;
}

export function queue(lags: Lag[]): string {
  if (!lags.length) return pc.dim("nothing waiting to sync");
  return table(["queue", "records", "oldest (s)"], lags.map((l) => [l.name, l.records, l.oldest_seconds]));
}

export function syncStatus(st: Json, nowMs = Date.now()): string {
  const state = !st.enabled ? pc.dim("disabled") : st.paused ? pc.yellow("paused") : pc.green("running");
  const head = pairs([
    ["sync", state],
    ["role", st.role],
    ["last success", since(st.last_sync_ms, nowMs)],
    ["last error", st.last_error ? pc.red(String(st.last_error)) : null],
  ]);
  return st.enabled ? `${head}\n${queue((st.lags as Lag[]) ?? [])}` : head;
}

export function syncRun(s: Json): string {
  if (s.running) return pc.yellow("another sync run was in progress; this one did nothing");
  const line = `pushed ${cell(s.pushed_records)} records in ${cell(s.pushed_batches)} batches (${bytes(s.bytes_sent)} sent, ${bytes(s.bytes_raw)} raw), pulled ${cell(s.pulled_versions)} versions`;
  return s.error ? `${pc.red("sync failed")}: ${String(s.error)}\n${line}` : `${pc.green("synced")}: ${line}`;
}

export function conflicts(body: { conflicts: Json[]; next: number }): string {
  if (!body.conflicts.length) return pc.dim(`no conflicts (next offset ${body.next})`);
  const version = (side: unknown) => (side as { version?: unknown } | undefined)?.version;
  const rows = body.conflicts.map((c) => [c.offset, c.key, c.outcome, c.strategy, version(c.local), version(c.remote), c.fallbackReason]);
  return `${table(["offset", "key", "outcome", "strategy", "local", "remote", "fallback"], rows)}\nnext offset ${body.next}`;
}

/**
 * Any JSON the node sends (the mesh routes' answers, whose shape the mesh defines): an object
 * as name/value pairs with lists of objects as tables below, a list of objects as one table.
 */
export function generic(v: unknown): string {
  if (Array.isArray(v)) {
    if (!v.length) return pc.dim("(none)");
    if (v.every((x) => typeof x === "object" && x !== null && !Array.isArray(x))) {
      const cols = [...new Set(v.flatMap((x) => Object.keys(x as Json)))];
      return table(cols, v.map((x) => cols.map((c) => (x as Json)[c])));
    }
    return v.map(cell).join("\n");
  }
  if (typeof v !== "object" || v === null) return cell(v);
  const o = v as Json;
  const lists = Object.entries(o).filter(([, x]) => Array.isArray(x) && x.length && x.every((i) => typeof i === "object" && i !== null));
  const scalar = Object.entries(o).filter(([k]) => !lists.some(([l]) => l === k));
  const parts = scalar.length ? [pairs(scalar)] : [];
  for (const [k, x] of lists) parts.push(`${pc.bold(k)}\n${generic(x)}`);
  return parts.join("\n");
}

// ---- Prometheus text -------------------------------------------------------------------

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Prometheus text exposition (0.0.4) → families, in the order they appear. */
export function parseMetrics(text: string): Family[] {
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: "untyped", help: "", samples: [] }));
    return f;
  };
  // Samples of histograms and summaries carry a suffix their family's name has not.
  const owner = (sample: string) => {
    for (const suffix of ["_bucket", "_sum", "_count"]) {
      if (sample.endsWith(suffix)) {
        const base = sample.slice(0, -suffix.length);
        const f = families.get(base);
        if (f && (f.type === "histogram" || f.type === "summary")) return f;
      }
    }
    return family(sample);
  };
  for (const line of text.split("\n")) {
    const l = line.trim();
    if (!l) continue;
    let m: RegExpExecArray | null;
    if ((m = /^#\s+HELP\s+(\S+)\s?(.*)$/.exec(l))) family(m[1]).help = m[2].replace(/\\n/g, "\n").replace(/\\\\/g, "\\");
    else if ((m = /^#\s+TYPE\s+(\S+)\s+(\S+)$/.exec(l))) family(m[1]).type = m[2];
    else if (l.startsWith("#")) continue;
    else if ((m = SAMPLE.exec(l))) {
      const labels: Record<string, string> = {};
      for (const lm of (m[2] ?? "").matchAll(LABEL)) labels[lm[1]] = lm[2].replace(/\\"/g, '"').replace(/\\n/g, "\n").replace(/\\\\/g, "\\");
      owner(m[1]).samples.push({ name: m[1], labels, value: Number(m[3]) });
    }
  }
  return [...families.values()];
}

const labelText = (labels: Record<string, string>) => Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(" ");

/** Counters and gauges one row per series; a histogram as its count, sum and mean per label set. */
export function metrics(families: Family[]): string {
  const rows: unknown[][] = [];
  for (const f of families) {
    if (f.type === "histogram") {
      const groups = new Map<string, { labels: Record<string, string>; count: number; sum: number }>();
      for (const s of f.samples) {
        if (s.name.endsWith("_bucket")) continue;
        const { le: _le, ...rest } = s.labels;
        const key = labelText(rest);
        const g = groups.get(key) ?? { labels: rest, count: 0, sum: 0 };
        if (s.name.endsWith("_count")) g.count = s.value;
        else g.sum = s.value;
        groups.set(key, g);
      }
      for (const g of groups.values()) rows.push([f.name, labelText(g.labels), `${g.count} (mean ${g.count ? ((g.sum / g.count) * 1000).toFixed(2) : "0"} ms)`]);
      continue;
    }
    for (const s of f.samples) rows.push([s.name, labelText(s.labels), Number.isInteger(s.value) ? s.value : +s.value.toFixed(6)]);
  }
  return table(["metric", "labels", "value"], rows);
}
