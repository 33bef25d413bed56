// replication.ts: the key change feed, named cursors and backpressure, on real directories.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { NodeDir } from "@keel/wasi-dir/testing";
import { Store } from "../src/store.ts";
import { DEFAULT_SETTINGS, type StorageSettings } from "../src/settings.ts";

const b = (s: string) => new TextEncoder().encode(s);

describe("replication feed", () => {
  let dir: NodeDir;
  const make = (over: Partial<StorageSettings> = {}) => new Store(dir, { ...DEFAULT_SETTINGS, syncedPrefixes: ["s/"], syncedTopics: ["events"], ...over });
  beforeEach(() => {
    dir = new NodeDir(fs.mkdtempSync(path.join(os.tmpdir(), "keel-repl-")), { fsync: false });
  });

  it("feeds each change to a replicated key, collapsed to the current version on request", () => {
    const s = make();
    s.put("s/a", b("1"));
    s.put("s/a", b("2"));
    s.put("local", b("x"));
    s.put("s/b", b("3"));
    const all = s.replication.keyChanges(0, 100, false);
    expect(all.read).toBe(3);
    expect(all.last).toBe(2);
    expect(all.keys.map((k) => k.key)).toEqual(["s/a", "s/a", "s/b"]);
    const collapsed = s.replication.keyChanges(0, 100, true);
    expect(collapsed.keys.map((k) => [k.key, new TextDecoder().decode(k.parts[0].value!)])).toEqual([["s/a", "2"], ["s/b", "3"]]);
    expect(collapsed.keys[0].parts[0].version).toBe(s.kv.get("s/a")!.version);
    expect(s.replication.keyChanges(3, 100, true)).toEqual({ keys: [], read: 0, last: null });
  });

  it("reads a key without its lock when the record has the entry's version, and waits for the lock when the write is in flight", () => {
    const s = make();
    s.put("s/a", b("old"));
    const root = dir.root;
    const lockOf = () => fs.readdirSync(path.join(root, "kv")).find((n) => !n.includes("."))! + ".lock";
    // A writer between its feed entry and its file: the entry is there, its lock is held.
    const from = s.outbox.nextOffset("outbox");
    s.outbox.append("outbox", [b(JSON.stringify({ k: "s/a", v: "9999999999999.0.edge-x" }))]);
    fs.writeFileSync(path.join(root, "kv", lockOf()), "");
    let waited = 0;
    const waiting = Object.assign(Object.create(dir) as NodeDir, {
      sleep: () => {
        // The writer finishes: its value lands, then its lock goes.
        if (++waited === 2) {
          fs.rmSync(path.join(root, "kv", lockOf()));
          new Store(new NodeDir(root, { fsync: false }), { ...DEFAULT_SETTINGS, syncedPrefixes: ["s/"] }).put("s/a", b("new"));
        }
      },
    });
    const reader = new Store(waiting, { ...DEFAULT_SETTINGS, syncedPrefixes: ["s/"] });
    const got = reader.replication.keyChanges(from, 1, true);
    expect(waited).toBe(2);
    expect(new TextDecoder().decode(got.keys[0].parts[0].value!)).toBe("new");
    // A record that already holds the entry's version is read as it is, lock or not.
    fs.writeFileSync(path.join(root, "kv", lockOf()), "");
    const settled = reader.replication.keyChanges(from + 1, 1, true);
    expect(new TextDecoder().decode(settled.keys[0].parts[0].value!)).toBe("new");
    expect(waited).toBe(2);
  });

  it("a deleted key travels as a tombstone", () => {
    const s = make();
    s.put("s/gone", b("1"));
    s.kv.delete("s/gone");
    const [k] = s.replication.keyChanges(0, 100, true).keys;
    expect(k.parts).toEqual([expect.objectContaining({ value: null })]);
  });

  it("cursors start empty, move only forward, and take only topic or @names", () => {
    const s = make();
    expect(s.replication.cursor("@outbox")).toBe(-1);
    s.replication.ack("@outbox", 4);
    s.replication.ack("@outbox", 2);
    expect(s.replication.cursor("@outbox")).toBe(4);
    expect(() => s.replication.ack("../escape", 1)).toThrow(expect.objectContaining({ tag: "invalid-key" }));
    expect(() => s.replication.ack("events", -1)).toThrow();
  });

  it("queue depth counts past the cursors; backpressure lifts when changes are acknowledged", () => {
    const s = make({ maxQueue: 2 });
    s.append("events", [b("a")]);
    s.append("events", [b("b")]);
    expect(() => s.append("events", [b("c")])).toThrow(expect.objectContaining({ tag: "backpressure" }));
    expect(s.queueDepth().find((q) => q.name === "events")?.records).toBe(2);
    s.replication.ack("events", s.replication.lastRecord("events")!.offset);
    expect(s.queueDepth().find((q) => q.name === "events")?.records).toBe(0);
    expect(s.append("events", [b("c")])).toEqual([2]);
  });

  it("last record of a topic; none for an empty one", () => {
    const s = make();
    expect(s.replication.lastRecord("events")).toBeNull();
    s.append("events", [b("a"), b("b")]);
    expect(s.replication.lastRecord("events")).toMatchObject({ offset: 1, payload: b("b") });
  });
});
