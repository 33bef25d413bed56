// The key index behind prefix scans (key-index.ts) on real directories: order, prefixes and
// cursors across the journal and several runs, merges that keep O(log keys) runs, a page that
// reads O(limit) bytes of a 50,000-key index, a data dir from before the index, a fresh data
// dir and a lost `built` marker, a torn journal line, a merge under a reader, and compaction forgetting removed keys.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { encodeUtf8, toHex } from "@keel/bytes";
import { NodeDir } from "@keel/wasi-dir/testing";
import type { Dir } from "@keel/wasi-dir";
import { formatRun, INDEX_DIR, KeyIndex, MAX_RUNS, runName } from "../src/key-index.ts";
import { Kv } from "../src/kv.ts";
import { encodeRecord } from "../src/record.ts";
import { fileName } from "../src/keys.ts";

const fresh = () => fs.mkdtempSync(path.join(os.tmpdir(), "keel-index-"));
const hex = (k: string) => toHex(encodeUtf8(k));
const all = (it: Iterable<string>) => [...it];

/** A Dir that counts the bytes it reads. */
function counting(inner: Dir): { dir: Dir; bytes: () => number } {
  let n = 0;
  const dir = new Proxy(inner, {
    get(t, p) {
      const f = (t as unknown as Record<string | symbol, unknown>)[p];
      if (p === "read" || p === "readAt") {
        return (...a: unknown[]) => {
          const r = (f as (...x: unknown[]) => Uint8Array | null).apply(t, a);
          n += r?.length ?? 0;
          return r;
        };
      }
      return typeof f === "function" ? f.bind(t) : f;
    },
  });
  return { dir, bytes: () => n };
}

/** A data dir with `n` keys written the way the bench seeds them: value files plus one index run. */
function seeded(n: number): string {
  const root = fresh();
  fs.mkdirSync(path.join(root, "kv"));
  fs.mkdirSync(path.join(root, INDEX_DIR));
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const key = `key-${String(i).padStart(6, "0")}`;
    fs.writeFileSync(path.join(root, "kv", fileName(encodeUtf8(key))), encodeRecord({ key, writtenAt: 1, parts: [{ version: `1.${i}.a`, origin: "edge", value: encodeUtf8("v") }], replaced: [] }));
    names.push(hex(key));
  }
  fs.writeFileSync(path.join(root, INDEX_DIR, runName(0, 0)), formatRun(names));
  fs.writeFileSync(path.join(root, INDEX_DIR, "built"), "");
  return root;
}

describe("key index", () => {
  it("gives every added name once, in order, by prefix and after a cursor, across the journal and merged runs", () => {
    const dir = new NodeDir(fresh());
    const index = new KeyIndex(dir, () => Date.now(), () => [], 256);
    const keys = Array.from({ length: 1500 }, (_, i) => `${["a", "b", "ab", "b/"][i % 4]}${(i * 7919) % 1500}`);
    for (const k of keys) index.add(hex(k));
    for (const k of keys.slice(0, 50)) index.add(hex(k)); // added twice: listed once
    const sorted = [...new Set(keys.map(hex))].sort();
    expect(all(index.range("", undefined))).toEqual(sorted);
    expect(all(index.range(hex("ab"), undefined))).toEqual(sorted.filter((h) => h.startsWith(hex("ab"))));
    expect(all(index.range(hex("b"), hex("b500")))).toEqual(sorted.filter((h) => h.startsWith(hex("b")) && h > hex("b500")));
    expect(all(index.range(hex("zz"), undefined))).toEqual([]);
    // Merges keep the number of runs small however many flushes there were.
    expect(index.runs().length).toBeLessThanOrEqual(MAX_RUNS + 1);
  });

  it("reads O(limit) bytes for a page of a 50,000-key index, wherever the page starts", () => {
    const root = seeded(50_000);
    const total = fs.statSync(path.join(root, INDEX_DIR, runName(0, 0))).size;
    for (const [prefix, cursor] of [["key-0", undefined], ["key-03", "key-031234"], ["key-049", undefined]] as const) {
      const { dir, bytes } = counting(new NodeDir(root));
      const page = new Kv(dir).scan(prefix, cursor, 100);
      expect(page.entries).toHaveLength(100);
      expect(page.entries[0].key > (cursor ?? "")).toBe(true);
      expect(page.entries.every((e) => e.key.startsWith(prefix))).toBe(true);
      expect(page.nextCursor).toBe(page.entries[99].key);
      // 100 value files (~60 bytes each) and a few chunks of the run; the run alone is ~1 MB.
      expect(bytes()).toBeLessThan(64 * 1024);
      expect(total).toBeGreaterThan(900_000);
    }
  });

  it("pages through everything with the cursors it gives, tombstones skipped", () => {
    const dir = new NodeDir(fresh());
    const kv = new Kv(dir);
    for (let i = 0; i < 250; i++) kv.put(`p/${String(i).padStart(3, "0")}`, encodeUtf8("x"));
    for (let i = 0; i < 250; i += 10) kv.delete(`p/${String(i).padStart(3, "0")}`);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = kv.scan("p/", cursor, 60);
      seen.push(...page.entries.map((e) => e.key));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 250 }, (_, i) => `p/${String(i).padStart(3, "0")}`).filter((_, i) => i % 10));
  });

  it("indexes a data dir written before the index existed, then goes on from there", () => {
    const root = seeded(300);
    fs.rmSync(path.join(root, INDEX_DIR), { recursive: true });
    const kv = new Kv(new NodeDir(root));
    kv.put("key-000150x", encodeUtf8("new"));
    const page = kv.scan("key-00015", undefined, 100);
    expect(page.entries.map((e) => e.key)).toEqual(["key-000150", "key-000150x", ...Array.from({ length: 9 }, (_, i) => `key-00015${i + 1}`)]);
    expect(fs.existsSync(path.join(root, INDEX_DIR, "built"))).toBe(true);
  });

  it("a fresh data dir's first key writes no empty run, and a marker lost in a crash is built again without missing a key", () => {
    const root = fresh();
    const kv = new Kv(new NodeDir(root));
    kv.put("a1", encodeUtf8("x"));
    expect(fs.readdirSync(path.join(root, INDEX_DIR)).filter((n) => !n.endsWith(".lock")).sort()).toEqual(["built", "journal-000000000000"]);
    kv.put("a2", encodeUtf8("y"));
    // The marker was not flushed: a crash may lose it (the journal and the key files were).
    fs.rmSync(path.join(root, INDEX_DIR, "built"));
    const after = new Kv(new NodeDir(root));
    after.put("a3", encodeUtf8("z"));
    expect(after.scan("a", undefined, 100).entries.map((e) => e.key)).toEqual(["a1", "a2", "a3"]);
    expect(fs.existsSync(path.join(root, INDEX_DIR, "built"))).toBe(true);
    // A crash after the journal line but before the key's file: the build leaves the name out.
    fs.rmSync(path.join(root, INDEX_DIR, "built"));
    fs.rmSync(path.join(root, "kv", fileName(encodeUtf8("a2"))));
    expect(new Kv(new NodeDir(root)).scan("a", undefined, 100).entries.map((e) => e.key)).toEqual(["a1", "a3"]);
  });

  it("ignores a journal line torn by a crash and keeps appending after it", () => {
    const root = fresh();
    const dir = new NodeDir(root);
    const index = new KeyIndex(dir, () => Date.now(), () => []);
    index.add(hex("one"));
    const journal = fs.readdirSync(path.join(root, INDEX_DIR)).find((n) => n.startsWith("journal-"))!;
    fs.appendFileSync(path.join(root, INDEX_DIR, journal), "\n74776"); // "two", cut off mid-write
    index.add(hex("three"));
    expect(all(index.range("", undefined))).toEqual([hex("one"), hex("three")]);
  });

  it("a reader sees each name once while another instance merges the runs it is reading", () => {
    const root = fresh();
    const writer = new KeyIndex(new NodeDir(root), () => Date.now(), () => [], 64);
    const names = Array.from({ length: 400 }, (_, i) => hex(`m${String(i).padStart(4, "0")}`));
    // Flushes without merges: write runs directly, more than MAX_RUNS of them.
    fs.mkdirSync(path.join(root, INDEX_DIR));
    for (let r = 0; r < MAX_RUNS + 3; r++) fs.writeFileSync(path.join(root, INDEX_DIR, runName(r, r)), formatRun(names.filter((_, i) => i % (MAX_RUNS + 3) === r)));
    fs.writeFileSync(path.join(root, INDEX_DIR, "built"), "");
    const reader = new KeyIndex(new NodeDir(root), () => Date.now(), () => []).range("", undefined);
    const got: string[] = [];
    for (let i = 0; i < 100; i++) got.push(reader.next().value as string);
    writer.maybeMerge();
    expect(writer.runs().length).toBeLessThan(MAX_RUNS + 3);
    for (let n = reader.next(); !n.done; n = reader.next()) got.push(n.value);
    expect(got).toEqual(names);
  });

  it("compaction forgets keys whose files are gone", () => {
    const root = fresh();
    const kv = new Kv(new NodeDir(root));
    for (const k of ["a", "b", "c"]) kv.put(k, encodeUtf8(k));
    fs.rmSync(path.join(root, "kv", fileName(encodeUtf8("b"))));
    expect(kv.scan("", undefined, 10).entries.map((e) => e.key)).toEqual(["a", "c"]);
    expect(all(kv.index.range("", undefined))).toContain(hex("b"));
    kv.index.rebuild();
    expect(all(kv.index.range("", undefined))).toEqual([hex("a"), hex("c")]);
  });
});
