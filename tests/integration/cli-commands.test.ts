// commands.ts against the real storage logic on a real directory (no WASM needed).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { runCommand, type Store } from "../../components/cli/src/commands.ts";
import { Store as DataStore } from "../../components/storage/src/store.ts";
import { DEFAULT_SETTINGS } from "../../components/storage/src/settings.ts";
import { NodeDir } from "@keel/wasi-dir/testing";

const text = { encode: (s: string) => new TextEncoder().encode(s), decode: (b: Uint8Array) => new TextDecoder().decode(b) };

function storeOn(root: string): Store {
  const s = new DataStore(new NodeDir(root), DEFAULT_SETTINGS);
  return {
    // The storage component's wiring, done here without WASM: option none is null across WIT.
    get: (k) => s.kv.get(k) ?? null, put: (k, v, m) => s.put(k, v, m ?? undefined), delete: (k, m) => s.kv.delete(k, m ?? undefined),
    scan: (p, c, l) => { const page = s.kv.scan(p, c ?? undefined, l); return { entries: page.entries, nextCursor: page.nextCursor ?? null }; },
    append: (t, p) => s.append(t, p), read: (t, f, m) => s.log.read(t, f, m),
    topics: () => s.log.topics(), usage: () => ({ ...s.usage(), maxValueBytes: s.settings.maxValueBytes, eviction: s.settings.eviction }),
    verify: () => s.verify(), compact: () => s.compact(),
    queue: () => s.queueDepth(),
  };
}

describe("cli commands", () => {
  let store: Store;
  const run = (args: string[], stdin = "") => runCommand(args, store, text, () => stdin);
  beforeEach(() => {
    store = storeOn(fs.mkdtempSync(path.join(os.tmpdir(), "keel-cli-")));
  });

  it("put, get, scan, delete", () => {
    expect(run(["put", "a/1", "x"]).code).toBe(0);
    expect(run(["get", "a/1"]).stdout).toEqual(["x"]);
    expect(run(["scan", "a/"]).stdout[0]).toMatch(/^a\/1\t\d+\.\d+\.edge-local\t1$/);
    expect(run(["delete", "a/1"]).code).toBe(0);
    expect(run(["get", "a/1"])).toMatchObject({ code: 1, stderr: ['keel: key "a/1" does not exist'] });
  });

  it("append, topics, tail with from and max", () => {
    expect(run(["append", "ev", "a", "b", "c"]).stdout).toEqual(["0", "1", "2"]);
    expect(run(["topics"]).stdout).toEqual(["ev"]);
    expect(run(["tail", "ev", "1", "1"]).stdout.map((l) => l.split("\t")[2])).toEqual(["b"]);
    expect(run(["tail", "ev", "x"]).code).toBe(2);
  });

  it("export then import into an empty dir reproduces keys and records", () => {
    run(["put", "k", "v"]);
    run(["append", "t", "r1", "r2"]);
    const dump = run(["export"]).stdout.join("\n");
    const source = store;
    store = storeOn(fs.mkdtempSync(path.join(os.tmpdir(), "keel-cli-")));
    expect(run(["import"], dump).stdout).toEqual(["imported 1 keys and 2 records in 1 topics"]);
    expect(run(["get", "k"]).stdout).toEqual(["v"]);
    expect(run(["tail", "t"]).stdout.map((l) => l.split("\t")[2])).toEqual(["r1", "r2"]);
    expect(source.topics()).toEqual(["t"]);
  });

  it.each([
    ["not JSON", "{oops"],
    ["no value", '{"key":"k"}'],
    ["bad base64", '{"key":"k","value_base64":"***"}'],
    ["neither key nor topic", '{"value_base64":"eA=="}'],
  ])("import rejects %s and writes nothing", (_name, line) => {
    const r = run(["import"], `{"key":"first","value_base64":"eA=="}\n${line}\n`);
    expect(r.code).toBe(1);
    expect(r.stderr[0]).toMatch(/nothing was imported/);
    expect(run(["get", "first"]).code).toBe(1);
  });

  it("queue says when nothing syncs from this node", () => {
    expect(run(["queue"]).stdout).toEqual(["nothing is synced from this node"]);
  });

  it("verify passes on a healthy store; unknown commands and bad arity are usage errors", () => {
    run(["put", "k", "v"]);
    expect(run(["verify"]).stdout).toEqual(["ok: every checksum matches"]);
    expect(run(["frobnicate"]).code).toBe(2);
    expect(run(["get"]).code).toBe(2);
    expect(run([]).code).toBe(2);
  });
});
