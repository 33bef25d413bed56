// The mesh's logic over storage, in plain Node on real directories, with the exchanges carried
// in-process (the hosts only move these bytes over HTTP): anti-entropy along a line of nodes
// (a change reaches a node its writer cannot reach), topic records once each with their origin,
// membership state with a controlled clock, and hostile messages. The adapter below is what
// the composition wires (keel:storage/kv, log, replication → mesh).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { NodeDir } from "@keel/wasi-dir/testing";
import { Store } from "../../components/storage/src/store.ts";
import { settingsFrom } from "../../components/storage/src/settings.ts";
import { Mesh, type Storage } from "../../components/mesh/src/mesh.ts";
import { meshConfig } from "../../components/mesh/src/config.ts";
import { resolve } from "@keel/model";

const b = (s: string) => new TextEncoder().encode(s);
const text = (u: Uint8Array | null | undefined) => (u ? new TextDecoder().decode(u) : null);

interface Node { id: string; store: Store; mesh: Mesh; clock: { now: number } }

function node(id: string, peers: string[], extra: Record<string, unknown> = {}): Node {
  const config = {
    node: { id, role: "edge" },
    mesh: {
      enabled: true, url: `http://${id}:1`, token_env: "T", replicated_prefixes: ["s/"], replicated_topics: ["events"],
      peers: peers.map((p) => ({ id: p, url: `http://${p}:1` })), gossip_interval_ms: 100, suspect_timeout_ms: 1000, ...extra,
    },
  };
  const dir = new NodeDir(fs.mkdtempSync(path.join(os.tmpdir(), `keel-mesh-${id}-`)), { fsync: false });
  const clock = { now: 1_000_000 };
  // Last-write-wins, decided by the same rules the conflict component applies.
  const lww = { strategyFor: () => "last-write-wins" as const, resolve: (_k: string, l: never, r: never) => resolve("last-write-wins", "last-write-wins", l, r, () => { throw new Error("no merge plug-in here"); }, 1 << 20) };
  const store = new Store(dir, settingsFrom(config), () => clock.now, () => {}, { resolver: lww, fallback: (l, r) => lww.resolve("", l as never, r as never) });
  const storage: Storage = {
    applyMany: (versions) => store.applyMany(versions.map(({ key, remote }) => ({ key, remote: { ...remote, origin: remote.origin as "edge" | "cloud" } }))),
    append: (topic, payloads) => void store.append(topic, payloads),
    read: (topic, from, max) => store.log.read(topic, from, max),
    lastRecord: (topic) => store.replication.lastRecord(topic),
    topics: () => store.log.topics(),
    meshChanges: (from, max) => store.replication.meshChanges(from, max),
    meshEnd: () => store.replication.meshEnd(),
  };
  return { id, store, clock, mesh: new Mesh(dir, meshConfig(config, new Map([["T", `token-of-${id}`]])), storage, () => clock.now) };
}

/** One round of `from`, each message answered by the peer it names, or failing when cut. */
function round(from: Node, nodes: Node[], cut: Set<string> = new Set()): number {
  const r = from.mesh.beginRound(from.clock.now);
  if (!r) throw new Error(`${from.id}: no round`);
  let repaired = 0;
  try {
    for (const ex of r.exchanges) {
      const to = nodes.find((n) => n.id === ex.peer);
      if (!to || cut.has(to.id) || cut.has(from.id)) {
        from.mesh.unreachable(ex.peer, from.clock.now);
        continue;
      }
      repaired += from.mesh.deliver(ex.peer, to.mesh.gossip(from.id, ex.message, to.clock.now), from.clock.now);
    }
  } finally {
    from.mesh.endRound();
  }
  return repaired;
}

const relayed = (n: Node, origin: string) => n.store.log.read(`events--${origin}`, 0, 10_000).map((r) => JSON.parse(text(r.payload)!) as { o: number; b: string });

describe("anti-entropy", () => {
  it("carries keys and records along a line a—b—c: c gets a's writes through b, each record once", () => {
    const [a, bb, c] = [node("a", ["b"]), node("b", ["a", "c"]), node("c", ["b"])];
    const all = [a, bb, c];
    a.store.put("s/from-a", b("A"));
    a.store.put("local/a", b("not meshed"));
    c.store.put("s/from-c", b("C"));
    a.store.append("events", [b("a0"), b("a1")]);
    c.store.append("events", [b("c0")]);
    for (let i = 0; i < 4; i++) for (const n of all) round(n, all);
    for (const n of all) {
      expect(text(n.store.kv.get("s/from-a")?.value)).toBe("A");
      expect(text(n.store.kv.get("s/from-c")?.value)).toBe("C");
    }
    expect(c.store.kv.get("local/a") ?? null).toBeNull();
    expect(relayed(c, "a").map((e) => [e.o, atob(e.b)])).toEqual([[0, "a0"], [1, "a1"]]);
    expect(relayed(a, "c").map((e) => e.o)).toEqual([0]);
    // More rounds change nothing and store nothing twice.
    for (let i = 0; i < 3; i++) for (const n of all) expect(round(n, all)).toBe(0);
    expect(relayed(c, "a")).toHaveLength(2);
    // The vectors say the same everywhere.
    for (const n of all) expect(n.mesh.vectors().events).toMatchObject({ a: 2, c: 1 });
  });

  it("applies concurrent writes through conflict resolution: every node ends on the same version", () => {
    const nodes = ["a", "b", "c"].map((id, i, ids) => node(id, ids.filter((_, j) => j !== i)));
    nodes.forEach((n, i) => {
      n.clock.now += i; // c writes last
      n.store.put("s/k", b(`from ${n.id}`));
    });
    for (let i = 0; i < 3; i++) for (const n of nodes) round(n, nodes);
    for (const n of nodes) expect(text(n.store.kv.get("s/k")?.value)).toBe("from c");
  });

  it("versions that arrive by mesh are not queued for sync: the cloud gets each write from its writer", () => {
    // A store with both sync and mesh on: an applied version enters the mesh feed, not the outbox.
    const dir = new NodeDir(fs.mkdtempSync(path.join(os.tmpdir(), "keel-mesh-sync-")), { fsync: false });
    const both = new Store(dir, settingsFrom({ node: { id: "a" }, sync: { enabled: true, prefixes: [{ prefix: "s/", direction: "edge_to_cloud" }] }, mesh: { enabled: true, replicated_prefixes: ["s/"] } }));
    both.apply("s/x", { version: "1000.0.z", origin: "edge", value: b("v"), replaces: [] });
    both.put("s/y", b("mine"));
    expect(both.replication.keyChanges(0, 10, false).keys.map((k) => k.key)).toEqual(["s/y"]);
    expect(both.replication.meshChanges(0, 10).keys.map((k) => k.key)).toEqual(["s/x", "s/y"]);
    expect(both.replication.meshEnd()).toBe(2);
  });
});

describe("membership", () => {
  it("alive → suspect on a missed exchange → dead after the suspicion timeout; retried with backoff; alive when it answers", () => {
    const [a, bb] = [node("a", ["b"]), node("b", ["a"])];
    const state = () => a.mesh.peers().find((p) => p.id === "b")!;
    const cut = new Set(["b"]);
    round(a, [a, bb], cut);
    expect(state().state).toBe("suspect");
    a.clock.now += 500;
    round(a, [a, bb], cut);
    expect(state().state).toBe("suspect");
    a.clock.now += 600;
    round(a, [a, bb], cut);
    expect(state()).toMatchObject({ state: "dead", failures: 3 });
    // Dead: not asked again until its retry time.
    const retry = state().nextTryMs;
    expect(retry).toBeGreaterThan(a.clock.now);
    expect(a.mesh.beginRound(a.clock.now)!.exchanges).toEqual([]);
    a.mesh.endRound();
    a.clock.now = retry;
    round(a, [a, bb]); // healed
    expect(state()).toMatchObject({ state: "alive", failures: 0 });
  });

  it("a round asks gossip_fanout alive peers, the longest unasked first, plus every suspect; writes still reach all", () => {
    const ids = ["a", "b", "c", "d", "e", "f", "g"];
    const nodes = ids.map((id) => node(id, ids.filter((x) => x !== id), { gossip_fanout: 2 }));
    const [a] = nodes;
    const asked: string[][] = [];
    for (let i = 0; i < 3; i++) {
      const r = a.mesh.beginRound(a.clock.now)!;
      asked.push(r.exchanges.map((x) => x.peer));
      a.mesh.endRound();
      a.clock.now += 100;
    }
    // Six peers, two a round: each asked once in three rounds.
    expect(asked.map((x) => x.length)).toEqual([2, 2, 2]);
    expect(asked.flat().sort()).toEqual(["b", "c", "d", "e", "f", "g"]);
    // A suspect is asked every round on top of the fanout, until it answers or is dead.
    a.mesh.unreachable("b", a.clock.now);
    for (let i = 0; i < 3; i++) {
      const r = a.mesh.beginRound(a.clock.now)!;
      expect(r.exchanges.map((x) => x.peer)).toContain("b");
      expect(r.exchanges).toHaveLength(3);
      a.mesh.endRound();
      a.clock.now += 100;
    }
    // A write on g reaches every node though no round asks every peer.
    nodes[6].store.put("s/k", b("from g"));
    for (let r = 0; r < 8 && !nodes.every((n) => text(n.store.kv.get("s/k")?.value) === "from g"); r++) {
      for (const n of nodes) {
        n.clock.now += 100;
        round(n, nodes);
      }
    }
    expect(nodes.map((n) => text(n.store.kv.get("s/k")?.value))).toEqual(ids.map(() => "from g"));
  });

  it("asks a peer for less after a failed exchange and more after each success (AIMD); the responder honours it", () => {
    const [a, bb] = [node("a", ["b"]), node("b", ["a"])];
    for (let i = 0; i < 60; i++) bb.store.put(`s/k-${i}`, b(`v${i}`));
    const maxOf = () => {
      const r = a.mesh.beginRound(a.clock.now)!;
      a.mesh.endRound();
      return (JSON.parse(text(r.exchanges[0].message)!) as { kv: { max: number } }).kv.max;
    };
    expect(maxOf()).toBe(100);
    a.mesh.unreachable("b", a.clock.now);
    expect(maxOf()).toBe(50);
    a.mesh.unreachable("b", a.clock.now);
    a.mesh.unreachable("b", a.clock.now);
    expect(maxOf()).toBe(12);
    // The responder sends no more than asked: 12 of the 60 keys b holds.
    const r = a.mesh.beginRound(a.clock.now)!;
    const reply = JSON.parse(text(bb.mesh.gossip("a", r.exchanges[0].message, bb.clock.now))!) as { items: unknown[] };
    a.mesh.endRound();
    expect(reply.items).toHaveLength(12);
    // Successes grow it back by 10 each, up to 100; the keys all arrive meanwhile.
    for (let i = 0; i < 12; i++) {
      a.clock.now += 100;
      round(a, [a, bb]);
    }
    expect(maxOf()).toBe(100);
    expect(a.store.kv.get("s/k-59")?.value).toBeTruthy();
  });

  it("a suspect another peer has heard from is not declared dead", () => {
    const [a, bb, c] = [node("a", ["b", "c"]), node("b", ["a", "c"]), node("c", ["a", "b"])];
    const all = [a, bb, c];
    for (const n of all) round(n, all);
    // a cannot reach c, but b can.
    const aToC = (from: Node) => {
      const r = from.mesh.beginRound(from.clock.now)!;
      for (const ex of r.exchanges) {
        if (ex.peer === "c") from.mesh.unreachable("c", from.clock.now);
        else from.mesh.deliver(ex.peer, all.find((n) => n.id === ex.peer)!.mesh.gossip(from.id, ex.message, from.clock.now), from.clock.now);
      }
      from.mesh.endRound();
    };
    for (let t = 0; t < 5; t++) {
      for (const n of all) n.clock.now += 400;
      round(bb, all);
      aToC(a);
    }
    expect(a.mesh.peers().find((p) => p.id === "c")!.state).toBe("suspect");
  });

  it("learns new members from gossip, and static peers cannot be made to leave", () => {
    const [a, bb] = [node("a", ["b"]), node("b", ["a"])];
    const late = node("late", ["a"]);
    round(late, [a, bb, late]); // a learns late from its message
    round(a, [a, bb, late]); // b learns late from a's members
    expect(bb.mesh.peers().map((p) => [p.id, p.source]).sort()).toEqual([["a", "static"], ["late", "joined"]]);
    expect(() => a.mesh.leave("b")).toThrow(/static peer/);
    a.mesh.leave("late");
    round(bb, [a, bb, late]); // b still names late: a does not take it back after leave
    expect(a.mesh.peers().map((p) => p.id)).toEqual(["b"]);
    expect(() => a.mesh.join("bad id!", "http://x:1", "joined")).toThrow(/not a node id/);
    expect(() => a.mesh.join("x", "ftp://x", "joined")).toThrow(/http/);
    expect(() => a.mesh.join("a", "http://x:1", "joined")).toThrow(/itself/);
  });

  it("refuses malformed and hostile messages without changing anything", () => {
    const a = node("a", ["b"]);
    a.store.put("s/k", b("v"));
    const before = JSON.stringify(a.mesh.status().peers);
    for (const body of ["", "{", "null", "[]", '{"v":1}', '{"v":1,"kv":{"want":"0"},"url":"","topics":{}}', '{"v":1,"kv":{"want":0},"url":"","topics":[]}', '{"v":1,"kv":{"want":0},"url":"","topics":{"events":{"b":-1}}}']) {
      expect(() => a.mesh.gossip("b", b(body), a.clock.now), body).toThrow();
    }
    // A reply that would store bad records is refused before anything is applied.
    expect(() => a.mesh.deliver("b", b(JSON.stringify({ v: 1, kv: { want: 0 }, url: "", topics: {}, items: [{ k: "s/x", v: "1.0.b", o: "edge", b: "eA==", r: [] }], next: 1, records: { events: { b: [[0, 1, "!!"]] } } })), a.clock.now)).toThrow(/bad record/);
    expect(a.store.kv.get("s/x") ?? null).toBeNull();
    expect(JSON.stringify(a.mesh.status().peers)).toBe(before);
  });
});
