// log.ts run directly in Node on a real directory.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { TopicLog } from "../src/log.ts";
import { DEFAULT_SETTINGS, type StorageSettings } from "../src/settings.ts";
import { NodeDir } from "@keel/wasi-dir/testing";

const b = (s: string) => new TextEncoder().encode(s);
const s = (u: Uint8Array) => new TextDecoder().decode(u);

describe("TopicLog", () => {
  let dir: NodeDir;
  let clock: number;
  const make = (over: Partial<StorageSettings> = {}) => new TopicLog(dir, { ...DEFAULT_SETTINGS, ...over }, () => clock);
  beforeEach(() => {
    dir = new NodeDir(fs.mkdtempSync(path.join(os.tmpdir(), "keel-log-")));
    clock = 1_000_000;
  });

  it("appends batches with dense offsets and reads from any offset", () => {
    const log = make();
    expect(log.append("t", [b("a"), b("b")])).toEqual([0, 1]);
    expect(log.append("t", [b("c")])).toEqual([2]);
    expect(log.read("t", 0, 10).map((r) => [r.offset, s(r.payload)])).toEqual([[0, "a"], [1, "b"], [2, "c"]]);
    expect(log.read("t", 1, 1).map((r) => s(r.payload))).toEqual(["b"]);
    expect(log.read("t", 3, 10)).toEqual([]);
    expect(log.read("missing", 0, 10)).toEqual([]);
    expect(log.topics()).toEqual(["t"]);
  });

  it("rolls segments at the configured size and reads across them", () => {
    const log = make({ segmentBytes: 4096 });
    const all: number[] = [];
    for (let i = 0; i < 200; i++) all.push(...log.append("roll", [b(`record-${i}`.padEnd(100, "."))]));
    expect(all).toEqual([...Array(200).keys()]);
    expect(log.segments("roll").length).toBeGreaterThan(3);
    const got = log.read("roll", 0, 1000);
    expect(got.map((r) => r.offset)).toEqual(all);
    expect(s(got[150].payload)).toMatch(/^record-150/);
    expect(log.read("roll", 123, 2).map((r) => r.offset)).toEqual([123, 124]);
  });

  it("a torn tail is never served and the next append cuts it off", () => {
    const log = make();
    log.append("torn", [b("one"), b("two")]);
    log.append("torn", [b("three")]);
    const seg = path.join(dir.root, "logs", "torn", log.segments("torn")[0].name);
    fs.truncateSync(seg, fs.statSync(seg).size - 5); // a crash mid-append
    expect(log.read("torn", 0, 10).map((r) => s(r.payload))).toEqual(["one", "two"]);
    expect(log.verify("torn").join()).toMatch(/torn tail/);
    expect(log.append("torn", [b("four")])).toEqual([2]);
    expect(log.read("torn", 0, 10).map((r) => s(r.payload))).toEqual(["one", "two", "four"]);
    expect(log.verify("torn")).toEqual([]);
  });

  it("a flipped byte in an older segment is reported as corrupt", () => {
    const log = make({ segmentBytes: 4096 });
    for (let i = 0; i < 100; i++) log.append("c", [b("x".repeat(100))]);
    const first = path.join(dir.root, "logs", "c", log.segments("c")[0].name);
    const bytes = fs.readFileSync(first);
    bytes[100] ^= 1;
    fs.writeFileSync(first, bytes);
    expect(() => log.read("c", 0, 10)).toThrow(expect.objectContaining({ tag: "corrupt" }));
    expect(log.read("c", 90, 5).map((r) => r.offset)).toEqual([90, 91, 92, 93, 94]);
    expect(log.verify("c").join()).toMatch(/corrupt frame/);
  });

  it("retention drops whole old segments by size and by age, never the newest", () => {
    const log = make({ segmentBytes: 4096, retention: { maxAgeSeconds: 0, maxBytesPerTopic: 10_000 } });
    for (let i = 0; i < 300; i++) log.append("r", [b("y".repeat(100))]);
    const total = log.segments("r").reduce((a, x) => a + x.size, 0);
    expect(total).toBeLessThanOrEqual(10_000 + 4096 + 200);
    const first = log.read("r", 0, 1)[0].offset;
    expect(first).toBeGreaterThan(0);
    expect(log.read("r", 299, 1)[0].offset).toBe(299);

    const aged = make({ segmentBytes: 4096, retention: { maxAgeSeconds: 60, maxBytesPerTopic: 0 } });
    for (let i = 0; i < 100; i++) aged.append("a", [b("z".repeat(100))]);
    clock += 120_000;
    for (let i = 0; i < 50; i++) aged.append("a", [b("z".repeat(100))]);
    expect(aged.read("a", 0, 1)[0].offset).toBeGreaterThanOrEqual(100 - 40);
  });

  it("rejects bad topics, empty-record edge cases and oversized batches", () => {
    const log = make({ maxValueBytes: 10 });
    for (const t of ["", "-lead", "has/slash", "a b", "x".repeat(129), "ctl\u0001"]) {
      expect(() => log.append(t, [b("v")]), t).toThrow(expect.objectContaining({ tag: "invalid-key" }));
    }
    expect(() => log.append("t", [new Uint8Array(11)])).toThrow(expect.objectContaining({ tag: "too-large" }));
    expect(() => log.append("t", Array.from({ length: 10_001 }, () => b("a")))).toThrow(expect.objectContaining({ tag: "too-large" }));
    expect(log.append("t", [])).toEqual([]);
    expect(log.append("t", [new Uint8Array(0)])).toEqual([0]);
    expect(log.read("t", 0, 5)[0].payload.length).toBe(0);
  });

  it("keeps appending correctly when the head file is lost", () => {
    const log = make({ segmentBytes: 4096 });
    for (let i = 0; i < 100; i++) log.append("h", [b("w".repeat(100))]);
    fs.unlinkSync(path.join(dir.root, "logs", "h", "head"));
    expect(log.append("h", [b("next")])).toEqual([100]);
  });
});
