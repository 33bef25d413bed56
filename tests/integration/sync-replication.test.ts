// Sync's outbox over storage's replication feed, in plain Node on real directories: an edge
// pushes to a cloud, a lost answer is retried without duplicates, and the edge pulls back. The
// adapter below is what the composition wires (keel:storage/kv, log, replication → sync).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { NodeDir } from "@keel/wasi-dir/testing";
import { Store } from "../../components/storage/src/store.ts";
import { settingsFrom } from "../../components/storage/src/settings.ts";
import { Sync } from "../../components/sync/src/outbox.ts";
import { syncConfig } from "../../components/sync/src/config.ts";
import { syncStorageOf } from "../helpers/sync-storage.ts";

const b = (s: string) => new TextEncoder().encode(s);
const text = (u: Uint8Array | null | undefined) => (u ? new TextDecoder().decode(u) : null);

function node(role: "edge" | "cloud", id: string, extra: Record<string, unknown> = {}) {
  const config = {
    node: { id, role },
    sync: {
      enabled: true, cloud_url: "http://cloud", batch_size: 3, ...extra,
      prefixes: [{ prefix: "s/", direction: "edge_to_cloud" }, { prefix: "down/", direction: "cloud_to_edge" }],
      topics: [{ name: "events", direction: "edge_to_cloud" }],
    },
  };
  const dir = new NodeDir(fs.mkdtempSync(path.join(os.tmpdir(), `keel-sync-${role}-`)), { fsync: false });
  const store = new Store(dir, settingsFrom(config));
  const storage = syncStorageOf(store);
  return { store, sync: new Sync(dir, syncConfig(config, new Map()), storage) };
}

describe("sync over storage's replication interface", () => {
  it("pushes keys (collapsed) and records in batches, exactly once across a lost answer", () => {
    const edge = node("edge", "e1");
    const cloud = node("cloud", "cloud");
    edge.store.put("s/a", b("1"));
    edge.store.put("s/a", b("2"));
    edge.store.put("local", b("stays"));
    edge.store.append("events", [b("x"), b("y"), b("z")]);

    // The first batch reaches the cloud, but its answer is lost: no ack, the batch is built again.
    const lost = edge.sync.nextBatch()!;
    expect(cloud.sync.push("e1", lost.body)).toMatchObject({ versions: 1, records: 1, duplicates: 0 });
    const again = edge.sync.nextBatch()!;
    expect(again.cursors).toEqual(lost.cursors);
    expect(cloud.sync.push("e1", again.body)).toMatchObject({ versions: 1, records: 0, duplicates: 1 });
    edge.sync.ack(again.cursors, Date.now());

    let batch;
    while ((batch = edge.sync.nextBatch())) {
      cloud.sync.push("e1", batch.body);
      edge.sync.ack(batch.cursors, Date.now());
    }
    expect(text(cloud.store.kv.get("s/a")?.value)).toBe("2");
    expect(cloud.store.kv.get("local")).toBeNull();
    expect(cloud.store.log.read("events--e1", 0, 10).map((r) => JSON.parse(text(r.payload)!).o)).toEqual([0, 1, 2]);
    expect(edge.sync.lags(Date.now()).every((l) => l.records === 0)).toBe(true);
  });

  it("refuses batch cursors naming a feed this node does not push, before moving any", () => {
    const edge = node("edge", "e1");
    edge.store.append("events", [b("x")]);
    expect(() => edge.sync.ack([{ name: "events", offset: 0 }, { name: "other-topic", offset: 3 }], Date.now())).toThrow(/bad batch cursor/);
    expect(() => edge.sync.ack([{ name: "events", offset: -1 }], Date.now())).toThrow(/bad batch cursor/);
    expect(edge.store.replication.cursor("events")).toBe(-1);
  });

  it("the edge pulls cloud_to_edge keys once; the pull cursor is kept by storage", () => {
    const edge = node("edge", "e1");
    const cloud = node("cloud", "cloud");
    cloud.store.put("down/cfg", b("v1"));
    const q = edge.sync.pullRequest();
    expect(q.cursor).toBe(0);
    const body = cloud.sync.pull(q.cursor, [], 100);
    expect(edge.sync.applyPulled(body)).toBe(1);
    expect(text(edge.store.kv.get("down/cfg")?.value)).toBe("v1");
    expect(edge.sync.pullRequest().cursor).toBe(1);
    // Pulled versions are not queued back to the cloud.
    expect(edge.store.replication.keyChanges(0, 10, true).read).toBe(0);
  });

  it("backpressure: synced writes wait at max_queue until a push is acknowledged", () => {
    const edge = node("edge", "e1", { max_queue: 2 });
    const cloud = node("cloud", "cloud");
    edge.store.append("events", [b("1")]);
    edge.store.append("events", [b("2")]);
    expect(() => edge.store.append("events", [b("3")])).toThrow(expect.objectContaining({ tag: "backpressure" }));
    const batch = edge.sync.nextBatch()!;
    cloud.sync.push("e1", batch.body);
    edge.sync.ack(batch.cursors, Date.now());
    expect(edge.store.append("events", [b("3")])).toEqual([2]);
  });
});
