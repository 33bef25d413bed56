// store.ts: limits, eviction policies, verify and compaction, on real directories.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { Store } from "../src/store.ts";
import { DEFAULT_SETTINGS, settingsFrom, type StorageSettings } from "../src/settings.ts";
import { NodeDir } from "@keel/wasi-dir/testing";

const b = (s: string) => new TextEncoder().encode(s);

describe("Store limits and eviction", () => {
  let dir: NodeDir;
  let clock: number;
  let events: Record<string, unknown>[];
  const make = (over: Partial<StorageSettings>) => new Store(dir, { ...DEFAULT_SETTINGS, ...over }, () => clock, (e) => events.push(e));
  const age = (rel: string, ms: number) => {
    const t = new Date(ms);
    fs.utimesSync(path.join(dir.root, rel), t, t);
  };
  beforeEach(() => {
    dir = new NodeDir(fs.mkdtempSync(path.join(os.tmpdir(), "keel-store-")));
    clock = Date.now();
    events = [];
  });

  it("a store whose recount is slow is recounted less often (20 recount-times), writes charged in between", () => {
    const s = make({ maxBytes: 10_000_000 });
    s.put("a", b("1234"));
    const usage = () => JSON.parse(fs.readFileSync(path.join(dir.root, "state/usage"), "utf8")) as { bytes: number; at: number; took: number };
    // As if the last recount had taken 500 ms: trusted for 10 s.
    fs.writeFileSync(path.join(dir.root, "state/usage"), JSON.stringify({ ...usage(), at: clock, took: 500 }));
    const at = clock;
    clock += 5_000;
    s.put("b", b("5678"));
    expect(usage().at).toBe(at);
    expect(usage().bytes).toBeGreaterThan(0);
    clock += 6_000;
    s.put("c", b("9"));
    expect(usage().at).toBe(clock);
    expect(usage().took).toBe(0);
  });

  it("an instance adds its writes to the shared usage figure in batches (1% of max_bytes or 250 ms)", () => {
    const s = make({ maxBytes: 1_000_000 });
    s.put("first", b("x"));
    const shared = () => (JSON.parse(fs.readFileSync(path.join(dir.root, "state/usage"), "utf8")) as { bytes: number }).bytes;
    const start = shared();
    // Small writes stay with the instance…
    for (let i = 0; i < 5; i++) s.put(`small-${i}`, b("y".repeat(100)));
    expect(shared()).toBe(start);
    // …until they are 250 ms old,
    clock += 300;
    s.put("late", b("z"));
    const afterTime = shared();
    expect(afterTime).toBeGreaterThan(start + 5 * 100);
    // or reach 1% of max_bytes (10,000 bytes here).
    s.put("big", b("w".repeat(10_000)));
    expect(shared()).toBeGreaterThan(afterTime + 10_000);
  });

  it("usage counts keys, topics and bytes", () => {
    const s = make({});
    s.put("a", b("1234"));
    s.append("t", [b("xyz")]);
    const u = s.usage();
    expect(u).toMatchObject({ keys: 1, topics: 1, maxBytes: 0 });
    expect(u.usedBytes).toBe(u.kvBytes + u.logBytes);
  });

  it("oldest: evicts the oldest keys to make room, newest survive", () => {
    const s = make({ maxBytes: 20_000, eviction: "oldest" });
    for (let i = 0; i < 10; i++) {
      s.put(`k${i}`, new Uint8Array(1500));
      age(`kv/${Buffer.from(`k${i}`).toString("hex")}`, clock - 100_000 + i * 1000);
    }
    clock += 2000; // the usage cache expires
    for (let i = 10; i < 20; i++) s.put(`k${i}`, new Uint8Array(1500));
    expect(s.usage().usedBytes).toBeLessThanOrEqual(20_000);
    expect(s.kv.get("k0")).toBeNull();
    expect(s.kv.get("k19")).not.toBeNull();
    expect(s.counters.get("keel_storage_evicted_keys_total")).toBeGreaterThan(0);
  });

  it("priority: evicts segments of the lowest-priority topic first", () => {
    const s = make({ maxBytes: 60_000, eviction: "priority", segmentBytes: 4096, priorities: { debug: -10, orders: 10, kv: 5 } });
    for (let i = 0; i < 60; i++) s.append("orders", [new Uint8Array(300)]);
    for (let i = 0; i < 60; i++) s.append("debug", [new Uint8Array(300)]);
    clock += 2000;
    for (let i = 0; i < 80; i++) s.append("orders", [new Uint8Array(300)]);
    expect(s.log.read("orders", 0, 1)[0].offset).toBe(0);
    expect(s.log.read("debug", 0, 1)[0].offset).toBeGreaterThan(0);
  });

  it("lru: a key read recently outlives older unread ones", () => {
    const s = make({ maxBytes: 12_000, eviction: "lru" });
    for (let i = 0; i < 6; i++) s.put(`k${i}`, new Uint8Array(1500));
    for (let i = 0; i < 6; i++) {
      const rel = `kv/${Buffer.from(`k${i}`).toString("hex")}`;
      const t = new Date(clock - 3_600_000);
      fs.utimesSync(path.join(dir.root, rel), t, t);
    }
    expect(s.kv.get("k0")).not.toBeNull(); // touches k0's access time
    clock += 2000;
    for (let i = 6; i < 10; i++) s.put(`k${i}`, new Uint8Array(1500));
    expect(s.kv.get("k0")).not.toBeNull();
    expect(s.kv.get("k1")).toBeNull();
  });

  it("compact: never evicts; a write that does not fit is refused as full", () => {
    const s = make({ maxBytes: 5_000, eviction: "compact" });
    s.put("a", new Uint8Array(3000));
    clock += 2000;
    expect(() => s.put("b", new Uint8Array(3000))).toThrow(expect.objectContaining({ tag: "full" }));
    expect(s.kv.get("a")).not.toBeNull();
    expect(s.counters.get("keel_storage_writes_refused_full_total")).toBe(1);
  });

  it("evicting unsynced records of a synced topic is counted and logged", () => {
    const s = make({ maxBytes: 20_000, eviction: "oldest", segmentBytes: 4096, syncedTopics: ["events"] });
    s.replication.ack("events", 5);
    for (let i = 0; i < 100; i++) s.append("events", [new Uint8Array(300)]);
    expect(s.counters.get("keel_storage_evicted_unsynced_records_total")).toBeGreaterThan(0);
    expect(events.some((e) => e.msg === "evicted unsynced records" && e.topic === "events")).toBe(true);
  });

  it("verify finds a flipped byte; compact removes orphans and torn tails", () => {
    const s = make({});
    s.put("good", b("ok"));
    s.put("bad", b("flip me"));
    s.append("t", [b("one")]);
    const bad = path.join(dir.root, "kv", Buffer.from("bad").toString("hex"));
    const bytes = fs.readFileSync(bad);
    bytes[bytes.length - 1] ^= 1;
    fs.writeFileSync(bad, bytes);
    fs.writeFileSync(path.join(dir.root, "kv", "abcd.x1.tmp"), "leftover");
    age("kv/abcd.x1.tmp", clock - 60_000);
    const seg = path.join(dir.root, "logs", "t", s.log.segments("t")[0].name);
    fs.appendFileSync(seg, Buffer.from([1, 2, 3]));
    expect(s.verify().join("\n")).toMatch(/checksum mismatch[\s\S]*torn tail/);
    expect(s.compact()).toBeGreaterThanOrEqual(3 + 8);
    expect(fs.existsSync(path.join(dir.root, "kv", "abcd.x1.tmp"))).toBe(false);
    expect(s.verify()).toEqual([expect.stringMatching(/checksum mismatch/)]);
  });
});

describe("settingsFrom", () => {
  it("reads [storage] and [sync] and falls back on bad values", () => {
    const sync = { enabled: true, topics: [{ name: "t", direction: "edge_to_cloud" }, { name: 3 }, { name: "down", direction: "cloud_to_edge" }], prefixes: [{ prefix: "o/", direction: "bidirectional" }, { prefix: "c/", direction: "cloud_to_edge" }] };
    const s = settingsFrom({ storage: { max_bytes: 100, max_value_bytes: -5, eviction: "bogus", priority: { a: 1, b: "x" }, retention: { max_age_seconds: 60 } }, sync });
    expect(s).toMatchObject({ maxBytes: 100, maxValueBytes: DEFAULT_SETTINGS.maxValueBytes, eviction: "oldest", priorities: { a: 1 }, syncedTopics: ["t"], syncedPrefixes: ["o/"], retention: { maxAgeSeconds: 60, maxBytesPerTopic: 0 } });
    // The cloud sends the other way.
    expect(settingsFrom({ node: { role: "cloud" }, sync })).toMatchObject({ origin: "cloud", syncedTopics: ["down"], syncedPrefixes: ["o/", "c/"] });
    expect(settingsFrom(undefined)).toEqual(DEFAULT_SETTINGS);
    expect(settingsFrom(undefined, new Map([["KEEL_INSTANCE_LIFETIME", "process"]])).instanceLivesWithHost).toBe(true);
    expect(settingsFrom(undefined, new Map([["KEEL_INSTANCE_LIFETIME", "request"]])).instanceLivesWithHost).toBe(false);
  });
});
