// kv.ts applyMany / store.ts applyMany: versions from other nodes applied together (sync's push
// and pull, the mesh, /_keel/kv/apply), on real directories.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { resolve } from "@keel/model";
import { NodeDir } from "@keel/wasi-dir/testing";
import { SPIN_TRIES, withLock, withLocks } from "@keel/wasi-dir";
import { Store } from "../src/store.ts";
import { DEFAULT_SETTINGS } from "../src/settings.ts";
import type { KeyedVersion } from "../src/kv.ts";

const b = (s: string) => new TextEncoder().encode(s);
const text = (v: Uint8Array | undefined) => (v ? new TextDecoder().decode(v) : undefined);
const lww = { strategyFor: () => "last-write-wins" as const, resolve: (_k: string, l: never, r: never) => resolve("last-write-wins", "last-write-wins", l, r, () => { throw new Error("no merge plug-in"); }, 1 << 20) };
const version = (key: string, ms: number, node: string, value: string | null): KeyedVersion => ({ key, remote: { version: `${ms}.0.${node}`, origin: "edge", value: value === null ? null : b(value), replaces: [] } });

describe("applying many versions at once", () => {
  let root: string;
  const store = (name: string) => new Store(new NodeDir(path.join(root, name)), { ...DEFAULT_SETTINGS, node: "cloud-1", origin: "cloud", syncedPrefixes: ["k/"] }, () => 1_800_000_000_000, () => {}, { resolver: lww, fallback: (l, r) => lww.resolve("", l as never, r as never) });
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "keel-apply-many-"));
    for (const d of ["one", "many"]) fs.mkdirSync(path.join(root, d));
  });

  // 40 new keys (more than one group), then newer, older, duplicate and repeated versions of some.
  const first = Array.from({ length: 40 }, (_, i) => version(`k/${i}`, 1000 + i, "edge-a", `v${i}`));
  const second = [
    version("k/1", 5000, "edge-b", "newer"), version("k/2", 10, "edge-b", "older"), first[3], version("k/4", 6000, "edge-b", null),
    version("k/5", 7000, "edge-b", "twice-1"), version("k/5", 8000, "edge-c", "twice-2"), version("k/new", 9000, "edge-b", "fresh"),
  ];

  it("gives the outcomes and the values that one apply per version gives, in order", () => {
    const one = store("one");
    const many = store("many");
    const singly = [...first, ...second].map(({ key, remote }) => one.apply(key, remote));
    const together = [...many.applyMany(first), ...many.applyMany(second)];
    expect(together).toEqual(singly);
    expect(together.slice(40)).toEqual(["took-remote", "kept-local", "duplicate", "took-remote", "took-remote", "took-remote", "created"]);
    for (const key of [...first.map((v) => v.key), "k/new"]) expect(text(many.kv.get(key)?.value)).toBe(text(one.kv.get(key)?.value));
    expect(text(many.kv.get("k/5")?.value)).toBe("twice-2");
    expect(many.kv.get("k/4")).toBeNull();
    // Every key created is in the key index, so scans find them.
    expect(many.kv.scan("k/", undefined, 100).entries.map((e) => e.key).sort()).toEqual([...first.map((v) => v.key).filter((k) => k !== "k/4"), "k/new"].sort());
  });

  it("puts every change in the key feed before acknowledging (the cloud passes applied versions on)", () => {
    const many = store("many");
    many.applyMany(first);
    many.applyMany(second);
    const changes = many.replication.keyChanges(0, 1000, false);
    // 40 created + newer k/1 + k/4 deleted + k/5 twice + k/new; the older and the duplicate
    // change nothing. Collapsed: the 40 keys and k/new.
    expect(changes.read).toBe(45);
    expect(many.replication.keyChanges(0, 1000, true).keys.map((k) => k.key)).toHaveLength(41);
  });

  it("logs and counts each conflict it resolved", () => {
    const many = store("many");
    many.applyMany(first);
    many.applyMany(second);
    const logged = many.conflictLog.read("conflicts", 0, 100).map((r) => JSON.parse(new TextDecoder().decode(r.payload)) as { key: string; outcome: string });
    expect(logged.map((c) => `${c.key} ${c.outcome}`)).toEqual(["k/1 took-remote", "k/2 kept-local", "k/4 took-remote", "k/5 took-remote", "k/5 took-remote"]);
  });

  it("takes a version written over every local one (a successor) without asking a strategy, and logs no conflict", () => {
    const asked: string[] = [];
    const fww = { strategyFor: () => "first-write-wins" as const, resolve: (k: string, l: never, r: never) => (asked.push(k), resolve("first-write-wins", "first-write-wins", l, r, () => { throw new Error("no merge plug-in"); }, 1 << 20)) };
    const at = (name: string) => new Store(new NodeDir(path.join(root, name)), { ...DEFAULT_SETTINGS, node: "cloud-1", origin: "cloud", syncedPrefixes: ["k/"] }, () => 1_800_000_000_000, () => {}, { resolver: fww, fallback: (l, r) => fww.resolve("", l as never, r as never) });
    fs.mkdirSync(path.join(root, "other"));
    // An edge writes k/a three times, syncing each; the cloud then writes k/b, which the edge updates.
    const v = (ms: number, node: string, value: string | null, replaces: string[]): KeyedVersion => ({ key: "k/a", remote: { version: `${ms}.0.${node}`, origin: node.startsWith("cloud") ? "cloud" : "edge", value: value === null ? null : b(value), replaces } });
    const chain = [v(1000, "edge-a", "one", []), v(2000, "edge-a", "two", ["1000.0.edge-a"]), v(3000, "edge-a", null, ["1000.0.edge-a", "2000.0.edge-a"])];
    const cloud = at("one");
    expect(chain.map((x) => cloud.applyMany([x])[0])).toEqual(["created", "updated", "updated"]);
    expect(cloud.kv.get("k/a")).toBeNull(); // the edge's delete, not its first value (first-write-wins used to keep "one")
    // (A record lists every version it superseded, up to 64: the writer's whole history here.)
    const reborn = v(4000, "edge-a", "four", ["1000.0.edge-a", "2000.0.edge-a", "3000.0.edge-a"]);
    expect(cloud.applyMany([reborn])).toEqual(["updated"]);
    expect(text(cloud.kv.get("k/a")?.value)).toBe("four");
    // Delivered in another order the versions end the same: the older ones are superseded.
    const other = at("other");
    expect(other.applyMany([reborn, ...[...chain].reverse()])).toEqual(["created", "duplicate", "duplicate", "duplicate"]);
    expect(text(other.kv.get("k/a")?.value)).toBe("four");
    // A version that is not written over every local one is still a conflict.
    expect(cloud.applyMany([{ key: "k/a", remote: { version: "5000.0.edge-b", origin: "edge", value: b("rival"), replaces: ["1000.0.edge-a"] } }])).toEqual(["kept-local"]);
    expect(asked).toEqual(["k/a"]);
    const logged = cloud.conflictLog.read("conflicts", 0, 100).map((r) => JSON.parse(new TextDecoder().decode(r.payload)) as { outcome: string });
    expect(logged.map((c) => c.outcome)).toEqual(["kept-local"]);
    // Each update is a change the cloud passes on.
    expect(cloud.replication.keyChanges(0, 100, false).read).toBe(4);
  });

  it("checks every version before writing any: one bad version refuses the batch and changes nothing", () => {
    const many = store("many");
    const bad = { key: "k/bad", remote: { ...first[0].remote, version: "not-a-version" } };
    expect(() => many.applyMany([...first.slice(0, 20), bad])).toThrow(expect.objectContaining({ tag: "invalid-key", val: expect.stringMatching(/not <wall-ms>/) }));
    expect(() => many.applyMany([...first.slice(0, 20), { key: "", remote: first[0].remote }])).toThrow(expect.objectContaining({ tag: "invalid-key" }));
    expect(() => many.applyMany([...first.slice(0, 20), { key: "k/big", remote: { ...first[0].remote, value: new Uint8Array(DEFAULT_SETTINGS.maxValueBytes + 1) } }])).toThrow(expect.objectContaining({ tag: "too-large" }));
    for (const v of first.slice(0, 20)) expect(many.kv.get(v.key)).toBeNull();
    expect(many.replication.keyChanges(0, 100, false).read).toBe(0);
  });
});

describe("withLocks", () => {
  it("holds every lock while it runs, takes each once, and lets go of all, even on a throw", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "keel-locks-"));
    const dir = new NodeDir(root);
    const held = () => fs.readdirSync(root).filter((n) => n.endsWith(".lock")).sort();
    expect(withLocks(dir, ["c", "a", "b", "a"], Date.now, () => held())).toEqual(["a.lock", "b.lock", "c.lock"]);
    expect(held()).toEqual([]);
    expect(() => withLocks(dir, ["x", "y"], Date.now, () => { throw new Error("boom"); })).toThrow("boom");
    expect(held()).toEqual([]);
  });

  it("waits for a lock another holder has, whatever order the paths come in", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "keel-locks-"));
    const dir = new NodeDir(root);
    fs.writeFileSync(path.join(root, "b.lock"), "");
    let sleeps = 0;
    const waiting = Object.assign(Object.create(dir) as NodeDir, { sleep: () => { if (++sleeps === 3) fs.rmSync(path.join(root, "b.lock")); } });
    expect(withLocks(waiting, ["c", "b", "a"], Date.now, () => fs.readdirSync(root).filter((n) => n.endsWith(".lock")).sort())).toEqual(["a.lock", "b.lock", "c.lock"]);
    expect(sleeps).toBe(3);
  });

  it("takes a lock freed within a few tries without sleeping, and sleeps between tries for one held longer", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "keel-locks-"));
    const dir = new NodeDir(root);
    const lockFile = path.join(root, "a.lock");
    let tries = 0;
    let sleeps = 0;
    let freeAt = 5;
    const held = Object.assign(Object.create(dir) as NodeDir, {
      createExclusive: (p: string, d: Uint8Array) => {
        if (++tries === freeAt) fs.rmSync(lockFile);
        return dir.createExclusive(p, d);
      },
      sleep: () => void sleeps++,
    });
    fs.writeFileSync(lockFile, "");
    expect(withLock(held, "a", Date.now, () => "ran")).toBe("ran");
    expect([tries, sleeps]).toEqual([5, 0]);
    // Held past the tries at once: waited for asleep, one more try after each sleep.
    tries = 0;
    freeAt = SPIN_TRIES + 4;
    fs.writeFileSync(lockFile, "");
    expect(withLock(held, "a", Date.now, () => "ran")).toBe("ran");
    expect([tries, sleeps]).toEqual([SPIN_TRIES + 4, 3]);
    expect(fs.existsSync(lockFile)).toBe(false);
  });
});

describe("Dir.writeFiles", () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  it("writes in place where asked and the file exists, replaces the rest whole, and says whether it renamed", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "keel-write-files-"));
    const dir = new NodeDir(root);
    fs.writeFileSync(path.join(root, "a"), "aaaaaaaa");
    expect(dir.writeFiles([
      { path: "a", data: () => bytes("whole a"), inPlace: { at: 2, data: bytes("XY") } },
      { path: "b", data: () => bytes("whole b"), inPlace: { at: 2, data: bytes("XY") } }, // no b yet: whole
      { path: "c", data: () => bytes("whole c") },
    ])).toBe(true);
    expect(["a", "b", "c"].map((n) => fs.readFileSync(path.join(root, n), "utf8"))).toEqual(["aaXYaaaa", "whole b", "whole c"]);
    expect(dir.writeFiles([{ path: "a", data: () => bytes("unused"), inPlace: { at: 0, data: bytes("Z") } }])).toBe(false);
    expect(fs.readFileSync(path.join(root, "a"), "utf8")).toBe("ZaXYaaaa");
    expect(fs.readdirSync(root).sort()).toEqual(["a", "b", "c"]);
  });

  it("renames nothing and leaves no temp file when a write fails", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "keel-write-files-"));
    const dir = new NodeDir(root);
    fs.writeFileSync(path.join(root, "old"), "old");
    expect(() => dir.writeFiles([
      { path: "old", data: () => bytes("new") },
      { path: "x", data: () => { throw new Error("encode failed"); } },
    ])).toThrow("encode failed");
    expect(fs.readdirSync(root)).toEqual(["old"]);
    expect(fs.readFileSync(path.join(root, "old"), "utf8")).toBe("old");
  });
});
