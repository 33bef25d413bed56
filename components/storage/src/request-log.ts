// Request counts for /_keel/metrics without a lock on the request path. Each storage instance
// (under wasmtime serve: each composition instance) appends what the gateway reports to its own
// file `metrics/live.d/<id>`, kept open — one small write, no lock, no fsync — so no count is
// lost when wasmtime serve drops an instance (after a second idle). Now and then (FOLD_BYTES
// written or FOLD_EVERY_MS) an instance folds its file, and every file STALE_MS old (its
// instance is gone), into the durable series (counters.ts, series.json, under its lock):
// requests by route class and status, errors by code, a latency histogram per route class,
// token cache use. Reading the counters folds too and adds the live files' lines, so
// /_keel/metrics is exact. Lines: `R\t<class>\t<status>\t<micros>\t<error>\t<h|m|->` or
// `E\t<series>\t<count>`.
import type { Appender, Dir } from "@keel/wasi-dir";
import { decodeUtf8, encodeUtf8 } from "@keel/bytes";
import type { Counters } from "./counters.ts";

const LIVE = "metrics/live.d";
/** A file this old belongs to an instance that is gone (or idle far past wasmtime's 1 s). */
export const STALE_MS = 3000;
export const FOLD_EVERY_MS = 10_000;
export const FOLD_BYTES = 16_384;
/** Latency buckets in seconds (Prometheus `le`; as text they sort as their values do). */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
export const DURATION = "keel_http_request_duration_seconds";
/** The latency sum in whole microseconds (counters are whole); /_keel/metrics shows seconds. */
export const DURATION_SUM_MICROS = "keel_http_request_duration_microseconds_sum";

export interface RequestSample {
  routeClass: string;
  status: number;
  micros: number;
  error: string;
  cachedToken?: boolean | null;
}

/** Each bucket's bound in µs, as a line's latency is compared with it. */
const BUCKET_MICROS = LATENCY_BUCKETS.map((le) => le * 1e6);

/**
 * Series counts for the complete lines of a live file (a line being written is left for later).
 * NOTE: lines are first tallied by what they count (class, status, error, token, latency
 * bucket); the series names are made and checked once per tally, not once per line. A fold reads
 * hundreds of lines per instance inside some request, and each line had cost ~20 map updates
 * under names built for it: a probe timed folds at 28–39 ms, ~50 µs for every request counted.
 */
export function countLines(text: string, into: Map<string, number>): void {
  const add = (name: string, n: number) => into.set(name, (into.get(name) ?? 0) + n);
  const tallies = new Map<string, { n: number; micros: number }>();
  for (let raw of text.slice(0, text.lastIndexOf("\n") + 1).split("\n")) {
    // A file removed by a fold while its instance lived on restarts with a hole of NULs.
    if (raw.charCodeAt(0) === 0) raw = raw.replace(/^\0+/, "");
    const [kind, a, b, c, d, t] = raw.split("\t");
    if (kind === "E" && Number(b) > 0) add(a, Number(b));
    if (kind !== "R") continue;
    const micros = Number(c) || 0;
    let bucket = 0;
    while (bucket < BUCKET_MICROS.length && micros > BUCKET_MICROS[bucket]) bucket++;
    // (A line cut short has no error field: "-", which no error code matches.)
    const key = `${a}\t${b}\t${d ?? "-"}\t${t}\t${bucket}`;
    const tally = tallies.get(key);
    if (tally) {
      tally.n++;
      tally.micros += micros;
    } else tallies.set(key, { n: 1, micros });
  }
  for (const [key, { n, micros }] of tallies) {
    const [a, b, d, t, bucket] = key.split("\t");
    if (!/^[a-z]{1,10}$/.test(a) || !/^\d{3}$/.test(b)) continue;
    const cls = `{class="${a}"`;
    add(`keel_http_requests_total${cls},status="${b}"}`, n);
    if (d && /^[a-z0-9_]{1,40}$/.test(d)) add(`keel_http_errors_total${cls},error="${d}"}`, n);
    for (let i = Number(bucket); i < LATENCY_BUCKETS.length; i++) add(`${DURATION}_bucket${cls},le="${LATENCY_BUCKETS[i]}"}`, n);
    add(`${DURATION}_bucket${cls},le="+Inf"}`, n);
    add(`${DURATION_SUM_MICROS}${cls}}`, micros);
    add(`${DURATION}_count${cls}}`, n);
    if (t === "h" || t === "m") add(`keel_auth_token_cache_${t === "h" ? "hits" : "misses"}_total`, n);
  }
}

export class RequestLog {
  private readonly dir: Dir;
  private readonly counters: Counters;
  private readonly now: () => number;
  private readonly file: string;
  private out: Appender | undefined;
  private written = false;
  private bytes = 0;
  private folded = false;
  private lastFoldMs: number;

  /**
   * Whether an instance's first request folds everyone's files when nobody folded for a while:
   * for hosts whose instances are short-lived (wasmtime serve: up to `[wasmtime]
   * max_instance_reuse_count` requests, dropped after `idle_instance_seconds` idle), where an
   * instance may never live to reach the other triggers. A host that keeps one instance for its whole life
   * (the Node host) says so and skips it: that fold (~15 ms there) was part of its first
   * request after every start.
   */
  private readonly foldOnFirst: boolean;

  constructor(dir: Dir, counters: Counters, now: () => number, id: string, opts: { foldOnFirstRequest?: boolean } = {}) {
    this.dir = dir;
    this.counters = counters;
    this.now = now;
    this.file = `${LIVE}/${id}`;
    this.foldOnFirst = opts.foldOnFirstRequest ?? true;
    // A new instance does not fold on its first request (with a fresh instance per request
    // that would be a fold per request): others, or the next fold, take its file.
    this.lastFoldMs = now();
  }

  record(samples: RequestSample[], events: { name: string; value: number }[]): void {
    let text = "";
    for (const s of samples) text += `R\t${s.routeClass}\t${s.status}\t${Math.round(s.micros)}\t${s.error}\t${s.cachedToken == null ? "-" : s.cachedToken ? "h" : "m"}\n`;
    for (const e of events) text += `E\t${e.name}\t${e.value}\n`;
    if (!text) return;
    if (!this.out) {
      this.dir.mkdirp(LIVE);
      this.out = this.dir.appender(this.file);
    }
    const bytes = encodeUtf8(text);
    this.out.write(bytes);
    this.bytes += bytes.length;
    // This instance's file now and then; on an instance's first request, everyone's when
    // nobody folded for a while (with a fresh instance per request none lives a second).
    const now = this.now();
    const first = !this.written;
    this.written = true;
    if (this.bytes >= FOLD_BYTES || now - this.lastFoldMs >= FOLD_EVERY_MS || (first && this.foldOnFirst && !this.folded && this.counters.foldedAtMs() < now - STALE_MS)) this.fold();
  }

  /** Every counter, with the lines live instances have written but not folded yet. */
  all(): { name: string; value: number }[] {
    this.fold();
    return this.counters.all((into) => {
      for (const n of this.dir.list(LIVE)) {
        const raw = this.dir.read(`${LIVE}/${n}`);
        if (raw) countLines(decodeUtf8(raw), into);
      }
    });
  }

  /** Fold this instance's file and every stale one into the series (`all` does it first). */
  fold(): void {
    const now = (this.lastFoldMs = this.now());
    this.folded = true;
    const files = this.dir.list(LIVE).map((n) => `${LIVE}/${n}`).filter((f) => f === this.file || (this.dir.stat(f)?.mtimeMs ?? now) < now - STALE_MS);
    if (!files.length) return;
    this.counters.fold((into) => {
      for (const f of files) {
        const raw = this.dir.read(f);
        if (raw) countLines(decodeUtf8(raw), into);
      }
      return () => {
        // This instance's file stays open and starts again; the others' instances are gone.
        for (const f of files) if (f !== this.file) this.dir.remove(f);
        this.out?.reset();
        this.bytes = 0;
      };
    });
  }
}
