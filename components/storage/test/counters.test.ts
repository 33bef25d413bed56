// Durable counters and the request counts behind /_keel/metrics (counters.ts, request-log.ts)
// on real directories: several instances appending, an instance that goes away, a fold never
// seen half done, damaged files.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Counters, SERIES } from "../src/counters.ts";
import { countLines, DURATION, DURATION_SUM_MICROS, FOLD_EVERY_MS, LATENCY_BUCKETS, RequestLog, STALE_MS } from "../src/request-log.ts";
import { NodeDir } from "@keel/wasi-dir/testing";

const fresh = () => new NodeDir(fs.mkdtempSync(path.join(os.tmpdir(), "keel-counters-")));
const read = (name: string, status: number, micros: number, error = "") => ({ routeClass: name, status, micros, error, cachedToken: null });
const asMap = (list: { name: string; value: number }[]) => Object.fromEntries(list.map((c) => [c.name, c.value]));

describe("request counts", () => {
  it("turn into series: by class and status, errors by code, a cumulative histogram, the sum in µs", () => {
    const m = new Map<string, number>();
    countLines("R\tread\t200\t2000\t\th\nR\twrite\t412\t40000\tversion_mismatch\tm\nE\tkeel_x_total\t3\n", m);
    const c = Object.fromEntries(m);
    expect(c['keel_http_requests_total{class="read",status="200"}']).toBe(1);
    expect(c['keel_http_errors_total{class="write",error="version_mismatch"}']).toBe(1);
    expect(c['keel_http_request_duration_seconds_bucket{class="read",le="0.001"}']).toBeUndefined();
    expect(c['keel_http_request_duration_seconds_bucket{class="read",le="0.0025"}']).toBe(1);
    expect(c['keel_http_request_duration_seconds_bucket{class="read",le="+Inf"}']).toBe(1);
    expect(c['keel_http_request_duration_seconds_bucket{class="write",le="0.05"}']).toBe(1);
    expect(c['keel_http_request_duration_microseconds_sum{class="read"}']).toBe(2000);
    expect(c['keel_http_request_duration_seconds_count{class="write"}']).toBe(1);
    expect(c.keel_x_total).toBe(3);
    expect([c.keel_auth_token_cache_hits_total, c.keel_auth_token_cache_misses_total]).toEqual([1, 1]);
    expect(Object.keys(c).filter((k) => k.includes('_bucket{class="read"'))).toHaveLength(LATENCY_BUCKETS.filter((b) => b >= 0.002).length + 1);
  });

  it("count as the rule says, line by line, whatever the lines (countLines tallies them first)", () => {
    // The rule, one line at a time: what the live-file format means.
    const reference = (text: string, into: Map<string, number>) => {
      const add = (name: string, n: number) => into.set(name, (into.get(name) ?? 0) + n);
      for (const raw of text.slice(0, text.lastIndexOf("\n") + 1).split("\n")) {
        const [kind, a, b, c, d, t] = raw.replace(/^\0+/, "").split("\t");
        if (kind === "E" && Number(b) > 0) add(a, Number(b));
        if (kind !== "R" || !/^[a-z]{1,10}$/.test(a) || !/^\d{3}$/.test(b)) continue;
        const cls = `{class="${a}"`;
        const micros = Number(c) || 0;
        add(`keel_http_requests_total${cls},status="${b}"}`, 1);
        if (d && /^[a-z0-9_]{1,40}$/.test(d)) add(`keel_http_errors_total${cls},error="${d}"}`, 1);
        for (const le of LATENCY_BUCKETS) if (micros <= le * 1e6) add(`${DURATION}_bucket${cls},le="${le}"}`, 1);
        add(`${DURATION}_bucket${cls},le="+Inf"}`, 1);
        add(`${DURATION_SUM_MICROS}${cls}}`, micros);
        add(`${DURATION}_count${cls}}`, 1);
        if (t === "h" || t === "m") add(`keel_auth_token_cache_${t === "h" ? "hits" : "misses"}_total`, 1);
      }
    };
    const field = (...choices: string[]) => fc.oneof(fc.constantFrom(...choices), fc.string({ maxLength: 6 }));
    const micros = fc.oneof(fc.integer({ min: 0, max: 6_000_000 }).map(String), fc.constantFrom("", "-3", "abc", "500", "501", "2500", "1e3", "Infinity"));
    const line = fc.oneof(
      fc.tuple(field("read", "write", "admin", "READ", "health"), field("200", "404", "20", "5000"), micros, field("", "not_found", "undefined", "-", "Bad"), field("h", "m", "-", ""), fc.nat(6)).map(([...f]) => `R\t${f.slice(0, 5).slice(0, f[5] as number).join("\t")}`), // some cut short
      fc.tuple(fc.constantFrom("R", "E"), fc.array(fc.string({ maxLength: 8 }), { maxLength: 6 })).map(([k, f]) => [k, ...f].join("\t")),
      fc.tuple(field("keel_x_total", 'keel_y_total{a="b"}'), field("1", "3", "0", "-2", "x")).map(([n, v]) => `E\t${n}\t${v}`),
      fc.string({ maxLength: 30 }),
    );
    const text = fc.tuple(fc.array(fc.tuple(fc.nat(2), line), { maxLength: 60 }), fc.string({ maxLength: 10 }))
      .map(([lines, tail]) => lines.map(([nuls, l]) => "\0".repeat(nuls) + l.replace(/\n/g, " ") + "\n").join("") + tail);
    fc.assert(fc.property(text, (t) => {
      const want = new Map<string, number>([["keel_http_requests_total{class=\"read\",status=\"200\"}", 2]]);
      const got = new Map(want);
      reference(t, want);
      countLines(t, got);
      expect(Object.fromEntries([...got].sort())).toEqual(Object.fromEntries([...want].sort()));
    }), { numRuns: 2000 });
  });

  it("skip a line still being written, a hole of NULs, and garbage", () => {
    const m = new Map<string, number>();
    countLines("\0\0\0R\tread\t200\t5\t\nnonsense\nR\tREAD\t200\t5\t\nR\tread\t20", m);
    expect(Object.fromEntries(m)['keel_http_requests_total{class="read",status="200"}']).toBe(1);
    expect([...m.keys()].every((k) => SERIES.test(k))).toBe(true);
  });

  it("can be read on a node that has counted nothing yet (no metrics dir)", () => {
    const dir = fresh();
    const log = new RequestLog(dir, new Counters(dir, () => Date.now()), () => Date.now(), "a");
    expect(log.all()).toEqual([]);
  });

  it("from several instances add up; each folds its own file, and nothing is counted twice", () => {
    let now = Date.now();
    const dir = fresh();
    const a = new RequestLog(dir, new Counters(dir, () => now), () => now, "a");
    const b = new RequestLog(dir, new Counters(dir, () => now), () => now, "b");
    a.record([read("read", 200, 10)], [{ name: 'keel_component_instantiations_total{component="gateway"}', value: 1 }]);
    b.record([read("read", 200, 10), read("write", 201, 10)], []);
    const total = (l: RequestLog) => asMap(l.all())['keel_http_requests_total{class="read",status="200"}'];
    expect(total(a)).toBe(2);
    expect(total(b)).toBe(2);
    now += 10_500;
    a.record([read("read", 200, 10)], []); // a folds its file (ten seconds since its last fold), kept open and empty
    expect(fs.statSync(path.join(dir.root, "metrics/live.d/a")).size).toBe(0);
    expect(total(b)).toBe(3);
    expect(asMap(a.all())['keel_component_instantiations_total{component="gateway"}']).toBe(1);
  });

  it("an instance that went away: its file is folded by the next fold once it is stale", () => {
    let now = Date.now();
    const dir = fresh();
    const gone = new RequestLog(dir, new Counters(dir, () => now), () => now, "gone");
    for (let i = 0; i < 50; i++) gone.record([read("write", 200, 100)], []);
    const file = path.join(dir.root, "metrics/live.d/gone");
    const old = new Date(now - STALE_MS - 1000);
    fs.utimesSync(file, old, old);
    const next = new RequestLog(dir, new Counters(dir, () => now), () => now, "next");
    next.all();
    expect(fs.existsSync(file)).toBe(false);
    expect(asMap(new Counters(dir, () => now).all())['keel_http_requests_total{class="write",status="200"}']).toBe(50);
  });

  it("with a fresh instance per request, nobody lives a second: a fold comes when none happened for a while", () => {
    let now = Date.now();
    const dir = fresh();
    for (let i = 0; i < 5; i++) new RequestLog(dir, new Counters(dir, () => now), () => now, `i${i}`).record([read("read", 200, 1)], []);
    const files = () => fs.readdirSync(path.join(dir.root, "metrics/live.d"));
    // The first one folded (no series yet; its file is empty now); the rest wait.
    expect(files().map((f) => fs.statSync(path.join(dir.root, "metrics/live.d", f)).size)).toEqual([0, 16, 16, 16, 16]);
    for (const f of files()) fs.utimesSync(path.join(dir.root, "metrics/live.d", f), new Date(now - STALE_MS - 1), new Date(now - STALE_MS - 1));
    now += STALE_MS + 1000;
    new RequestLog(dir, new Counters(dir, () => now), () => now, "last").record([read("read", 200, 1)], []);
    expect(files()).toEqual(["last"]);
    expect(asMap(new Counters(dir, () => now).all())['keel_http_requests_total{class="read",status="200"}']).toBe(6);
  });
});

describe("request counts on a host that keeps its instance (the Node host)", () => {
  it("the first request does not fold; the later triggers and a read of the counters still do, so nothing is lost or late", () => {
    let now = Date.now();
    const dir = fresh();
    // A previous process's file, long stale (the series was last folded a minute ago): a
    // short-lived instance would fold it on its first request.
    new RequestLog(dir, new Counters(dir, () => now), () => now, "before").record([read("read", 200, 1), read("read", 200, 1)], []);
    const live = (f: string) => path.join(dir.root, "metrics/live.d", f);
    fs.writeFileSync(live("old"), "R\tread\t200\t5\t\t-\n");
    fs.utimesSync(live("old"), new Date(now - 60_000), new Date(now - 60_000));
    const series = path.join(dir.root, "metrics/series.json");
    fs.utimesSync(series, new Date(now - 60_000), new Date(now - 60_000));
    const kept = new RequestLog(dir, new Counters(dir, () => now), () => now, "kept", { foldOnFirstRequest: false });
    kept.record([read("write", 200, 1)], []);
    expect(fs.existsSync(live("old"))).toBe(true); // not folded on the first request
    const short = new RequestLog(dir, new Counters(dir, () => now), () => now, "short");
    expect(fs.existsSync(live("old"))).toBe(true);
    // The counters are exact all the same: a read folds first.
    expect(asMap(short.all())['keel_http_requests_total{class="read",status="200"}']).toBe(3);
    expect(fs.existsSync(live("old"))).toBe(false);
    // And the periodic fold still comes to the kept instance.
    fs.writeFileSync(live("old2"), "R\tread\t200\t5\t\t-\n");
    fs.utimesSync(live("old2"), new Date(now - 60_000), new Date(now - 60_000));
    now += FOLD_EVERY_MS;
    kept.record([read("write", 200, 1)], []);
    expect(fs.existsSync(live("old2"))).toBe(false);
    expect(asMap(new Counters(dir, () => now).all())['keel_http_requests_total{class="write",status="200"}']).toBe(2);
  });

  it("a short-lived instance's first request does fold the stale file (the default)", () => {
    const now = Date.now();
    const dir = fresh();
    const live = (f: string) => path.join(dir.root, "metrics/live.d", f);
    fs.mkdirSync(path.join(dir.root, "metrics/live.d"), { recursive: true });
    fs.writeFileSync(live("old"), "R\tread\t200\t5\t\t-\n");
    fs.utimesSync(live("old"), new Date(now - 60_000), new Date(now - 60_000));
    new RequestLog(dir, new Counters(dir, () => now), () => now, "short").record([read("write", 200, 1)], []);
    expect(fs.existsSync(live("old"))).toBe(false);
  });
});

describe("counters", () => {
  it("one-file event counters first, then the series, sorted", () => {
    const dir = fresh();
    const c = new Counters(dir, Date.now);
    c.add("keel_storage_compactions_total", 1);
    c.fold((into) => {
      into.set("keel_b_total", 2).set('keel_a_total{x="1"}', 1);
      return () => undefined;
    });
    expect(c.all()).toEqual([
      { name: "keel_storage_compactions_total", value: 1 },
      { name: 'keel_a_total{x="1"}', value: 1 },
      { name: "keel_b_total", value: 2 },
    ]);
    expect(fs.readdirSync(path.join(dir.root, "metrics")).filter((f) => f.endsWith(".lock"))).toEqual([]);
  });

  it.each([
    ["not keel_", "http_requests_total"],
    ["a quote in a label", 'keel_x_total{a="b"c"}'],
    ["a newline in a label", 'keel_x_total{a="b\nc"}'],
    ["an upper-case name", "keel_X_total"],
    ["six labels", 'keel_x_total{a="1",b="2",c="3",d="4",e="5",f="6"}'],
  ])("keeps out a name that is not a series: %s", (_why, name) => {
    expect(SERIES.test(name)).toBe(false);
    const c = new Counters(fresh(), Date.now);
    c.fold((into) => {
      into.set(name, 1).set("keel_ok_total", 1).set("keel_zero_total", 0).set("keel_half_total", 0.5);
      return () => undefined;
    });
    expect(c.all()).toEqual([{ name: "keel_ok_total", value: 1 }]);
  });

  it("a damaged series file starts the series again instead of failing", () => {
    const dir = fresh();
    const c = new Counters(dir, Date.now);
    const add = (n: number) => c.fold((into) => (into.set("keel_a_total", n), () => undefined));
    add(5);
    fs.writeFileSync(path.join(dir.root, "metrics", "series.json"), '{"keel_a_total": 5, "trunc');
    expect(c.all()).toEqual([]);
    add(1);
    expect(c.all()).toEqual([{ name: "keel_a_total", value: 1 }]);
  });
});
