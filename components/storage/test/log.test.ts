// log.ts run directly in Node on a real directory.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { TopicLog } from "../src/log.ts";
import { DEFAULT_SETTINGS, type StorageSettings } from "../src/settings.ts";
import { NodeDir } from "@keel/wasi-dir/testing";
import { packRecords } from "@keel/bytes";

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

  // Group commit (log.ts): a frame is flushed after the append lock is released, and the tail
  // hint — how far the segment is known to be flushed — is written after that flush.
  describe("frames after the tail hint's flushed point", () => {
    const seg = (topic: string) => path.join(dir.root, "logs", topic, "0000000000000000.seg");
    const hint = (topic: string, size: number, next: number) =>
      fs.writeFileSync(path.join(dir.root, "logs", topic, "tail"), `0000000000000000.seg ${size} ${next}`.padEnd(80, " "));
    /** Three appends of two, one and one records; the segment's size after the first. */
    const three = (log: TopicLog, topic: string) => {
      log.append(topic, [b("one"), b("two")]);
      const first = fs.statSync(seg(topic)).size;
      log.append(topic, [b("three")]);
      log.append(topic, [b("four")]);
      return first;
    };

    it("are kept when the hint is behind (appenders still flushing): nothing is cut", () => {
      const log = make();
      const first = three(log, "lag");
      const size = fs.statSync(seg("lag")).size;
      hint("lag", first, 2);
      expect(log.nextOffset("lag")).toBe(4);
      expect(log.append("lag", [b("five")])).toEqual([4]);
      expect(fs.statSync(seg("lag")).size).toBeGreaterThan(size);
      expect(log.read("lag", 0, 10).map((r) => s(r.payload))).toEqual(["one", "two", "three", "four", "five"]);
      expect(log.verify("lag")).toEqual([]);
    });

    it("a power cut that lost a frame before a kept one: the next append cuts both (neither was acknowledged)", () => {
      const log = make();
      const first = three(log, "cut");
      // "three" never reached the disk (zeros where its page was); "four" did; neither was
      // flushed by its appender, so the hint still says where "two" ended.
      const fd = fs.openSync(seg("cut"), "r+");
      fs.writeSync(fd, new Uint8Array(20), 0, 20, first);
      fs.closeSync(fd);
      hint("cut", first, 2);
      expect(log.read("cut", 0, 10).map((r) => s(r.payload))).toEqual(["one", "two"]);
      expect(log.append("cut", [b("again")])).toEqual([2]);
      expect(log.read("cut", 0, 10).map((r) => s(r.payload))).toEqual(["one", "two", "again"]);
      expect(log.verify("cut")).toEqual([]);
    });

    it("a hint that is damaged, names another segment, or does not match its frames loses nothing", () => {
      const log = make();
      const first = three(log, "bad");
      const size = fs.statSync(seg("bad")).size;
      const cases = [
        () => fs.writeFileSync(path.join(dir.root, "logs", "bad", "tail"), "\xff\xfe garbage"),
        () => fs.writeFileSync(path.join(dir.root, "logs", "bad", "tail"), `0000000000000077.seg ${first} 2`.padEnd(80, " ")),
        () => hint("bad", first, 7), // the frame there holds offset 2, not 7
        () => hint("bad", first + 3, 2), // not at a frame's start
        () => hint("bad", size + 100, 9), // past the end
      ];
      let next = 4;
      for (const damage of cases) {
        damage();
        expect(log.append("bad", [b(`r${next}`)])).toEqual([next]);
        next++;
      }
      expect(log.read("bad", 0, 20).map((r) => r.offset)).toEqual([...Array(next).keys()]);
      expect(log.verify("bad")).toEqual([]);
    });
  });

  describe("packed batches (append-packed)", () => {
    const pack = (...records: Uint8Array[]) => packRecords(records);

    it("append as `append` does: the same frames, offsets and records", () => {
      const log = make();
      clock = 5;
      expect(log.appendPacked("p", pack(b("one"), b(""), b("three")))).toEqual({ first: 0, count: 3 });
      expect(log.append("p", [b("four")])).toEqual([3]);
      expect(log.appendPacked("p", pack(b("five")))).toEqual({ first: 4, count: 1 });
      expect(log.appendPacked("p", new Uint8Array(0))).toEqual({ first: 0, count: 0 });
      expect(log.read("p", 0, 10).map((r) => [r.offset, s(r.payload), r.timestampMs])).toEqual([[0, "one", 5], [1, "", 5], [2, "three", 5], [3, "four", 5], [4, "five", 5]]);
      expect(log.verify("p")).toEqual([]);
      // Byte for byte the frame `append` writes for the same records.
      const other = make();
      other.append("q", [b("one"), b(""), b("three")]);
      const seg = (t: string) => fs.readFileSync(path.join(dir.root, "logs", t, "0000000000000000.seg"));
      expect(seg("p").subarray(0, seg("q").length)).toEqual(seg("q"));
    });

    it("a packing that does not add up, or over a limit, is refused whole and nothing is written", () => {
      const log = make({ maxValueBytes: 10 });
      log.append("k", [b("kept")]);
      const good = pack(b("a"), b("bb"));
      const cases: [Uint8Array, RegExp][] = [
        [good.subarray(0, good.length - 1), /runs past its end/],
        [Uint8Array.from([...good, 1, 0]), /length is cut off/],
        [Uint8Array.from([...good, 255, 255, 255, 255]), /record is 4294967295 bytes; the limit is 10/],
        [pack(b("x".repeat(11))), /record is 11 bytes; the limit is 10/],
        [new Uint8Array(4 * 10_001), /more than 10000 records/],
      ];
      for (const [bad, why] of cases) {
        let err: unknown;
        try {
          log.appendPacked("k", bad);
        } catch (e) {
          err = e;
        }
        expect((err as { val?: string })?.val, String(why)).toMatch(why);
      }
      expect(log.read("k", 0, 10).map((r) => s(r.payload))).toEqual(["kept"]);
      expect(log.verify("k")).toEqual([]);
      expect(() => log.appendPacked("../x", good)).toThrow();
    });
  });

  it("keeps appending correctly when the head file is lost", () => {
    const log = make({ segmentBytes: 4096 });
    for (let i = 0; i < 100; i++) log.append("h", [b("w".repeat(100))]);
    fs.unlinkSync(path.join(dir.root, "logs", "h", "head"));
    expect(log.append("h", [b("next")])).toEqual([100]);
  });
});
