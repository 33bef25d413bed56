// End-to-end topics through sync's outbox over real storage, in plain Node (the adapter is what the
// composition wires): an edge seals, the cloud stores and forwards ciphertext it cannot read and
// still dedupes by offset, a second edge opens; every refusal is counted and applies nothing.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { NodeDir } from "@keel/wasi-dir/testing";
import { Store } from "../../components/storage/src/store.ts";
import { settingsFrom } from "../../components/storage/src/settings.ts";
import { Sync } from "../../components/sync/src/outbox.ts";
import { syncConfig } from "../../components/sync/src/config.ts";
import { encodeBody, decodeBody, type PullDoc } from "@keel/wire";
import { syncStorageOf } from "../helpers/sync-storage.ts";

const b = (s: string) => new TextEncoder().encode(s);
const text = (u: Uint8Array | null | undefined) => (u ? new TextDecoder().decode(u) : null);
const K1 = `k1:${randomBytes(32).toString("base64")}`;

function node(role: "edge" | "cloud", id: string, direction: string, keys?: string) {
  const config = {
    node: { id, role },
    sync: {
      enabled: true, cloud_url: "http://cloud", batch_size: 50, ...(keys !== undefined ? { encryption_key_env: "KEYS" } : {}),
      prefixes: [{ prefix: "down/", direction: "cloud_to_edge" }],
      topics: [{ name: "pay", direction, end_to_end: true }, { name: "plain", direction }],
    },
  };
  const dir = new NodeDir(fs.mkdtempSync(path.join(os.tmpdir(), `keel-sealed-${role}-`)), { fsync: false });
  const store = new Store(dir, settingsFrom(config));
  const storage = syncStorageOf(store);
  return { store, sync: new Sync(dir, syncConfig(config, new Map(keys !== undefined ? [["KEYS", keys]] : [])), storage) };
}

const values = (store: Store, topic: string) => store.log.read(topic, 0, 100).map((r) => JSON.parse(text(r.payload)!) as { o: number; b: string; n?: string; p?: number });

function pushAll(edge: ReturnType<typeof node>, cloud: ReturnType<typeof node>, id: string): void {
  let batch;
  while ((batch = edge.sync.nextBatch())) {
    cloud.sync.push(id, batch.body);
    edge.sync.ack(batch.cursors, Date.now());
  }
}

describe("end-to-end topics over sync", () => {
  it("the edge seals, the cloud stores ciphertext once (a resent batch too) and forwards it; a keyholder opens it", () => {
    const a = node("edge", "edge-a", "edge_to_cloud", K1);
    const cloud = node("cloud", "cloud", "bidirectional");
    const c = node("edge", "edge-c", "cloud_to_edge", `k2:${randomBytes(32).toString("base64")},${K1}`);
    a.store.append("pay", [b("salary MARKER-1"), b("salary MARKER-2")]);
    a.store.append("plain", [b("not secret")]);
    const batch = a.sync.nextBatch()!;
    expect(JSON.stringify(decodeBody(batch.body))).not.toContain("MARKER");
    expect(cloud.sync.push("edge-a", batch.body)).toMatchObject({ records: 3, duplicates: 0 });
    expect(cloud.sync.push("edge-a", batch.body)).toMatchObject({ records: 0, duplicates: 3 }); // the answer was lost
    a.sync.ack(batch.cursors, Date.now());
    const stored = values(cloud.store, "pay--edge-a");
    expect(stored.map((r) => r.o)).toEqual([0, 1]);
    expect(stored.map((r) => Buffer.from(r.b, "base64").toString("latin1")).join()).not.toContain("MARKER");
    expect(Buffer.from(values(cloud.store, "plain--edge-a")[0].b, "base64").toString()).toBe("not secret");
    // Forwarded once into the cloud's own topic, sealed, with origin and origin offset.
    expect(cloud.store.log.read("pay", 0, 10).map((r) => JSON.parse(text(r.payload)!).o)).toEqual([0, 1]);
    expect(cloud.store.log.read("pay", 0, 10).map((r) => text(r.payload)).join()).not.toContain("MARKER");

    const q = c.sync.pullRequest();
    expect(c.sync.applyPulled(cloud.sync.pull(q.cursor, q.topics, 100))).toBe(2);
    const opened = values(c.store, "pay--cloud");
    expect(opened.map((r) => Buffer.from(r.b, "base64").toString())).toEqual(["salary MARKER-1", "salary MARKER-2"]);
    expect(opened.map((r) => [r.n, r.p])).toEqual([["edge-a", 0], ["edge-a", 1]]);
  });

  function refusedPull(keys: string, tamper?: (doc: PullDoc) => void) {
    const a = node("edge", "edge-a", "edge_to_cloud", K1);
    const cloud = node("cloud", "cloud", "bidirectional");
    const c = node("edge", "edge-c", "cloud_to_edge", keys);
    a.store.append("pay", [b("first"), b("second")]);
    pushAll(a, cloud, "edge-a");
    cloud.store.put("down/cfg", b("v1"));
    const q = c.sync.pullRequest();
    const doc = decodeBody(cloud.sync.pull(q.cursor, q.topics, 100)) as PullDoc;
    tamper?.(doc);
    let message = "";
    try {
      c.sync.applyPulled(encodeBody(doc, true).body);
    } catch (e) {
      message = (e as Error).message;
    }
    // Nothing applied: no record, and not the key that came in the same answer either.
    expect(c.store.log.read("pay--cloud", 0, 10)).toEqual([]);
    expect(c.store.kv.get("down/cfg")).toBeNull();
    expect(c.sync.pullRequest().cursor).toBe(q.cursor);
    return { message, counts: c.sync.status(Date.now()).sealedRefused };
  }

  it("a wrong key is refused and counted; nothing is applied", () => {
    const r = refusedPull(`k1:${randomBytes(32).toString("base64")}`);
    expect(r.message).toMatch(/end-to-end topic pay: key k1 here is not the key k1 that sealed the record .*nothing applied/);
    expect(r.counts).toEqual({ wrong_key: 1, tampered: 0, unknown_key: 0, not_sealed: 0 });
  });

  it("an unknown key id is refused and counted", () => {
    const r = refusedPull(`k0:${randomBytes(32).toString("base64")}`);
    expect(r.message).toMatch(/sealed with key id k1, which this node does not hold \(it has k0\)/);
    expect(r.counts.unknown_key).toBe(1);
  });

  it("a tampered record, or one moved to another origin or offset, is refused and counted", () => {
    const flip = refusedPull(K1, (doc) => {
      const r = doc.topics[0].r[1];
      const fwd = JSON.parse(Buffer.from(r[2], "base64").toString());
      const sealed = Buffer.from(fwd.b, "base64");
      sealed[sealed.length - 3] ^= 0x40;
      r[2] = Buffer.from(JSON.stringify({ ...fwd, b: sealed.toString("base64") })).toString("base64");
    });
    expect(flip.message).toMatch(/record 1 of pay from edge-a failed authentication/);
    expect(flip.counts.tampered).toBe(1);
    const moved = refusedPull(K1, (doc) => {
      const r = doc.topics[0].r[0];
      r[2] = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(r[2], "base64").toString()), o: 5 })).toString("base64");
    });
    expect(moved.counts.tampered).toBe(1);
  });

  it("a record that is not sealed in an end-to-end topic is refused and counted", () => {
    const r = refusedPull(K1, (doc) => doc.topics[0].r.push([2, Date.now(), Buffer.from("plain text").toString("base64")]));
    expect(r.message).toMatch(/record 2 is not a sealed record forwarded by the cloud/);
    expect(r.counts.not_sealed).toBe(1);
  });

  it("the cloud refuses (and counts) a push whose end-to-end records are not sealed, storing nothing", () => {
    // An edge without keys never sends an end-to-end topic in the clear (the host stops it first).
    const a = node("edge", "edge-a", "edge_to_cloud");
    a.store.append("pay", [b("plain")]);
    expect(() => a.sync.nextBatch()).toThrow(/end-to-end topic pay: no key to seal with/);
    const cloud = node("cloud", "cloud", "bidirectional");
    const body = encodeBody({ v: 1, node: "edge-a", kv: [], topics: [{ t: "pay", r: [[0, 1, Buffer.from("plain text, long enough to look like something: ........").toString("base64")]] }] }, false).body;
    expect(() => cloud.sync.push("edge-a", body)).toThrow(/end-to-end topic pay: record 0: not a sealed record \(no k1 header\)/);
    expect(cloud.store.log.read("pay--edge-a", 0, 10)).toEqual([]);
    expect(cloud.sync.status(Date.now()).sealedRefused.not_sealed).toBe(1);
  });
});
