// Convergence, proven with property tests: several replicas receive the same set of versions
// of a key, each in its own random order and with duplicates; all must end in the same state.
// Replicas are the real storage logic (kv.ts) on real directories, resolving through the real
// conflict logic — for every built-in strategy and for the example merge plug-ins (the C counter
// as its built component: examples/merge-counter-c).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Kv, type RemoteVersion } from "../../components/storage/src/kv.ts";
import { NodeDir } from "@keel/wasi-dir/testing";
import { conflictSettings, formatHlc, resolve, strategyFor, type Strategy, type Version } from "@keel/model";
import { mergeCounts, parseCounts, total } from "../../examples/merge-counter/src/counter.ts";
import { mergeDocs, parseDoc, formatStamp } from "../../examples/merge-json/src/jsonmerge.ts";
import { loadMergePlugin, skipUnbuilt } from "../helpers/merge-plugin.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

type Plugin = (key: string, l: Version, r: Version) => Version;

const counterPlugin: Plugin = (_k, l, r) => ({ ...l, value: enc(JSON.stringify(mergeCounts(parseCounts(l.value, dec), parseCounts(r.value, dec)))) });
const jsonPlugin: Plugin = (_k, l, r) => ({
  ...l,
  value: enc(JSON.stringify(mergeDocs(l.value ? parseDoc(dec(l.value)) : null, formatStamp(l.stamp), r.value ? parseDoc(dec(r.value)) : null, formatStamp(r.stamp)))),
});

/** A built plug-in component's merge as a Plugin (its error thrown, as the conflict logic expects). */
function componentPlugin(name: string): Plugin | null {
  const call = loadMergePlugin(name);
  if (!call) return null;
  return (k, l, r) => {
    const out = call(k, l, r);
    if ("error" in out) throw { tag: "unmergeable", val: out.error };
    return { ...l, value: out.value };
  };
}

function replica(strategy: Strategy, plugin: Plugin | null, asked: string[] = []): Kv {
  const settings = conflictSettings({ conflict: { default: strategy, fallback: "last-write-wins" } });
  const merge = (l: Version, r: Version) => {
    if (!plugin) throw { tag: "unmergeable", val: "no plug-in" };
    return plugin("k", l, r);
  };
  return new Kv(new NodeDir(fs.mkdtempSync(path.join(os.tmpdir(), "keel-conv-")), { fsync: false }), {
    node: "replica", origin: "edge",
    resolver: { strategyFor: (key) => strategyFor(settings, key), resolve: (key, l, r) => (asked.push(key), resolve(strategy, settings.fallback, l, r, merge, 1 << 20)) },
    fallback: (l, r) => resolve("last-write-wins", "last-write-wins", l, r, merge, 1 << 20),
  });
}

/** The state a replica ends in: every part of the key's record (version, origin, value). */
function stateOf(kv: Kv): unknown {
  const e = kv.get("k");
  if (!e) return null;
  const parts = e.siblings.length ? e.siblings : [{ version: e.version, origin: "-", value: e.value }];
  return parts.map((p) => [p.version, p.value ? dec(p.value) : null]);
}

const NODES = ["edge-a", "edge-b", "cloud-1"];

/** Versions with distinct stamps; `value` builds the bytes for a strategy's value shape. */
const versionsArb = (value: fc.Arbitrary<string | null>) =>
  fc.uniqueArray(
    fc.record({ wall: fc.integer({ min: 1, max: 40 }), counter: fc.integer({ min: 0, max: 3 }), node: fc.constantFrom(...NODES), value }),
    { minLength: 1, maxLength: 7, selector: (v) => `${v.wall}.${v.counter}.${v.node}` },
  ).map((vs) => vs.map((v): RemoteVersion => ({
    version: formatHlc({ wallMs: v.wall, counter: v.counter, node: v.node }),
    origin: v.node.startsWith("cloud") ? "cloud" : "edge",
    value: v.value === null ? null : enc(v.value),
    replaces: [],
  })));

/** Each replica's delivery order: a shuffle of all versions plus some duplicates. */
const deliveries = (n: number) => fc.array(fc.array(fc.nat(), { minLength: 0, maxLength: 4 }), { minLength: 3, maxLength: 3 }).chain((dups) =>
  fc.tuple(...dups.map((d) => fc.shuffledSubarray([...Array(n).keys(), ...d.map((x) => x % n)], { minLength: n + d.length, maxLength: n + d.length }))));

function converges(strategy: Strategy, plugin: Plugin | null, value: fc.Arbitrary<string | null>) {
  fc.assert(
    fc.property(versionsArb(value).chain((vs) => fc.tuple(fc.constant(vs), deliveries(vs.length))), ([versions, orders]) => {
      const states = orders.map((order) => {
        const kv = replica(strategy, plugin);
        for (const i of order) kv.apply("k", versions[i]);
        return JSON.stringify(stateOf(kv));
      });
      expect(new Set(states).size).toBe(1);
    }),
    { numRuns: 60 },
  );
}

const text = fc.oneof(fc.string({ maxLength: 8 }), fc.constant(null));

describe("every replica converges, whatever the order and duplicates", () => {
  it.each<Strategy>(["last-write-wins", "first-write-wins", "cloud-wins", "edge-wins", "keep-both"])("%s (values and tombstones)", (s) => {
    converges(s, null, text);
  });

  it("custom: the counter plug-in", () => {
    const counts = fc.dictionary(fc.constantFrom(...NODES), fc.nat({ max: 50 }), { maxKeys: 3 }).map((c) => JSON.stringify(c));
    converges("custom", counterPlugin, counts);
  });

  it("custom: the counter plug-in in C (the built component, examples/merge-counter-c)", (ctx) => {
    const plugin = componentPlugin("merge-counter-c");
    if (!plugin) return skipUnbuilt(ctx, "merge-counter-c");
    const counts = fc.dictionary(fc.constantFrom(...NODES), fc.nat({ max: 50 }), { maxKeys: 3 }).map((c) => JSON.stringify(c));
    converges("custom", plugin, counts);
    converges("custom", plugin, fc.oneof(counts, fc.constant(null))); // deletes count nothing
  });

  it("custom: the JSON per-field plug-in (documents and deletes)", () => {
    const docs = fc.oneof(fc.dictionary(fc.constantFrom("a", "b", "c"), fc.oneof(fc.integer(), fc.string({ maxLength: 4 })), { maxKeys: 3 }).map((d) => JSON.stringify(d)), fc.constant(null));
    converges("custom", jsonPlugin, docs);
  });

  it("custom with a plug-in that declines: the fallback (last write wins) decides, convergently", () => {
    converges("custom", null, text);
  });
});

describe("a writer's successive versions (each written over the ones before) are not conflicts", () => {
  // What sync and the mesh carry when one node updates a key again and again: each version
  // lists every one before it as superseded. Whatever the order and duplicates, every replica
  // ends with the last, and no strategy is asked — first-write-wins had kept the first version
  // on the replicas that saw it first, and the writer the last.
  it.each<Strategy>(["last-write-wins", "first-write-wins", "cloud-wins", "edge-wins", "keep-both", "custom"])("%s", (s) => {
    const chain = fc.array(fc.oneof(fc.string({ maxLength: 6 }), fc.constant(null)), { minLength: 1, maxLength: 6 }).chain((values) => {
      const node = fc.constantFrom(...NODES);
      return fc.tuple(fc.constant(values), node, deliveries(values.length));
    });
    fc.assert(fc.property(chain, ([values, node, orders]) => {
      const versions: RemoteVersion[] = values.map((value, i) => ({
        version: formatHlc({ wallMs: 100 + i, counter: 0, node }), origin: node.startsWith("cloud") ? "cloud" : "edge",
        value: value === null ? null : enc(value), replaces: values.slice(0, i).map((_, j) => formatHlc({ wallMs: 100 + j, counter: 0, node })),
      }));
      for (const order of orders) {
        const asked: string[] = [];
        const kv = replica(s, (_k, l) => l, asked);
        for (const i of order) kv.apply("k", versions[i]);
        const last = values.at(-1)!;
        expect(kv.get("k")?.value ? dec(kv.get("k")!.value) : null).toBe(last);
        expect(asked).toEqual([]);
      }
    }), { numRuns: 60 });
  });
});

describe("what each strategy keeps", () => {
  const v = (wall: number, node: string, value: string | null): RemoteVersion => ({ version: `${wall}.0.${node}`, origin: node.startsWith("cloud") ? "cloud" : "edge", value: value === null ? null : enc(value), replaces: [] });

  it("last-write-wins keeps the newest; first-write-wins the oldest", () => {
    const lww = replica("last-write-wins", null);
    const fww = replica("first-write-wins", null);
    for (const kv of [lww, fww]) for (const x of [v(5, "edge-a", "five"), v(9, "edge-b", "nine"), v(2, "edge-b", "two")]) kv.apply("k", x);
    expect(dec(lww.get("k")!.value)).toBe("nine");
    expect(dec(fww.get("k")!.value)).toBe("two");
  });

  it("cloud-wins and edge-wins prefer the origin, then the newest", () => {
    const cw = replica("cloud-wins", null);
    const ew = replica("edge-wins", null);
    for (const kv of [cw, ew]) for (const x of [v(9, "edge-a", "edge"), v(1, "cloud-1", "cloud")]) kv.apply("k", x);
    expect(dec(cw.get("k")!.value)).toBe("cloud");
    expect(dec(ew.get("k")!.value)).toBe("edge");
  });

  it("a newer delete wins under last-write-wins; an older one loses", () => {
    const kv = replica("last-write-wins", null);
    kv.apply("k", v(5, "edge-a", "x"));
    kv.apply("k", v(6, "edge-b", null));
    expect(kv.get("k")).toBeNull();
    kv.apply("k", v(4, "edge-a", "older"));
    expect(kv.get("k")).toBeNull();
  });

  it("keep-both keeps siblings until a local write resolves them", () => {
    const kv = replica("keep-both", null);
    kv.apply("k", v(5, "edge-a", "a"));
    kv.apply("k", v(6, "edge-b", "b"));
    expect(kv.get("k")!.siblings.map((p) => dec(p.value!))).toEqual(["b", "a"]);
    kv.put("k", enc("resolved"));
    expect(kv.get("k")!.siblings).toEqual([]);
    expect(kv.apply("k", v(5, "edge-a", "a"))).toBe("duplicate");
    expect(dec(kv.get("k")!.value)).toBe("resolved");
  });

  it("the counter plug-in adds up every node's increments once", () => {
    const kv = replica("custom", counterPlugin);
    kv.apply("k", v(1, "edge-a", '{"edge-a":3}'));
    kv.apply("k", v(2, "edge-b", '{"edge-b":4}'));
    kv.apply("k", v(3, "edge-a", '{"edge-a":5,"edge-b":4}'));
    kv.apply("k", v(2, "edge-b", '{"edge-b":4}')); // a duplicate changes nothing
    expect(total(parseCounts(kv.get("k")!.value, dec))).toBe(9);
  });
});
