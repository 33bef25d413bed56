// kv.ts run directly in Node on a real directory.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { Kv } from "../src/kv.ts";
import { encodeRecord, slotBytes, SLOT_HEADER } from "../src/record.ts";
import { encodeUtf8, decodeUtf8 } from "@keel/bytes";
import { NodeDir } from "@keel/wasi-dir/testing";

const text = (s: string) => encodeUtf8(s);

describe("Kv", () => {
  let dir: NodeDir;
  let kv: Kv;
  let clock = 1_000;
  beforeEach(() => {
    dir = new NodeDir(fs.mkdtempSync(path.join(os.tmpdir(), "keel-kv-")));
    clock = 1_000;
    kv = new Kv(dir, { maxValueBytes: 1024, now: () => clock });
  });

  it("puts and gets a value with a version", () => {
    const v = kv.put("a", text("one"));
    expect(kv.get("a")).toEqual({ key: "a", value: text("one"), version: v, siblings: [] });
    expect(kv.get("missing")).toBeNull();
  });

  it("versions grow even when the clock stands still or steps back", () => {
    const v1 = kv.put("k", text("1"));
    const v2 = kv.put("k", text("2"));
    clock = 500;
    const v3 = kv.put("k", text("3"));
    expect([v1, v2, v3]).toEqual(["1000.0.edge-local", "1000.1.edge-local", "1000.2.edge-local"]);
  });

  it("compare-and-set: If-Match must equal the current version; * means it exists", () => {
    expect(() => kv.put("k", text("x"), "*")).toThrow(expect.objectContaining({ tag: "version-mismatch" }));
    const v0 = kv.put("k", text("0"));
    const v1 = kv.put("k", text("1"), "*");
    expect(v1).not.toBe(v0);
    expect(() => kv.put("k", text("x"), "999.0.edge-local")).toThrow(expect.objectContaining({ tag: "version-mismatch" }));
    kv.put("k", text("2"), v1);
    expect(decodeUtf8(kv.get("k")!.value)).toBe("2");
  });

  it("reports usage: live keys and their bytes", () => {
    expect(kv.usage()).toEqual({ keys: 0, bytes: 0 });
    kv.put("a", text("1"));
    kv.put("b", text("22"));
    const u = kv.usage();
    expect(u.keys).toBe(2);
    expect(u.bytes).toBeGreaterThan(3);
  });

  it("deletes, reporting whether the key existed", () => {
    kv.put("k", text("1"));
    expect(kv.delete("k")).toBe(true);
    expect(kv.delete("k")).toBe(false);
    expect(kv.get("k")).toBeNull();
  });

  it("rejects bad keys and oversized values with typed errors", () => {
    for (const key of ["", "a\u0000b", "tab\there", "x".repeat(513), "lone\ud800"]) {
      expect(() => kv.put(key, text("v")), JSON.stringify(key)).toThrow(expect.objectContaining({ tag: "invalid-key" }));
    }
    expect(() => kv.put("big", new Uint8Array(1025))).toThrow(expect.objectContaining({ tag: "too-large" }));
    expect(kv.get("big")).toBeNull();
  });

  it("stores long keys under a hashed name and still scans them", () => {
    const long = "long/" + "é".repeat(200);
    kv.put(long, text("v"));
    kv.put("long/short", text("s"));
    expect(kv.get(long)!.value).toEqual(text("v"));
    expect(kv.scan("long/", undefined, 10).entries.map((e) => e.key)).toEqual(["long/short", long].sort());
  });

  it("scans in key order with a cursor", () => {
    for (const k of ["p/3", "p/1", "p/2", "q/1"]) kv.put(k, text(k));
    const first = kv.scan("p/", undefined, 2);
    expect(first.entries.map((e) => e.key)).toEqual(["p/1", "p/2"]);
    expect(first.nextCursor).toBe("p/2");
    const rest = kv.scan("p/", first.nextCursor, 2);
    expect(rest.entries.map((e) => e.key)).toEqual(["p/3"]);
    expect(rest.nextCursor).toBeUndefined();
  });

  it("a corrupt file is reported for its key and the rest is still served", () => {
    kv.put("good", text("fine"));
    kv.put("bad", text("will be flipped"));
    const file = path.join(dir.root, "kv", Buffer.from("bad").toString("hex"));
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1] ^= 0xff;
    fs.writeFileSync(file, bytes);
    expect(() => kv.get("bad")).toThrow(expect.objectContaining({ tag: "corrupt" }));
    expect(decodeUtf8(kv.get("good")!.value)).toBe("fine");
    // A new write replaces the corrupt file.
    kv.put("bad", text("rewritten"));
    expect(decodeUtf8(kv.get("bad")!.value)).toBe("rewritten");
  });

  it("a truncated (torn) file is detected, never served", () => {
    kv.put("torn", text("0123456789"));
    const file = path.join(dir.root, "kv", Buffer.from("torn").toString("hex"));
    fs.truncateSync(file, fs.statSync(file).size - 3);
    expect(() => kv.get("torn")).toThrow(expect.objectContaining({ tag: "corrupt" }));
  });

  describe("updates in place (slotted files)", () => {
    const fileOf = (key: string) => path.join(dir.root, "kv", Buffer.from(key).toString("hex"));
    const capacity = (key: string) => fs.readFileSync(fileOf(key)).readUInt32LE(4);

    it("an update rewrites the slot without the newest record, in the same file", () => {
      kv.put("s", text("v1"));
      const ino = fs.statSync(fileOf("s")).ino;
      const c = capacity("s");
      kv.put("s", text("v2"));
      kv.put("s", text("v3"));
      expect(fs.statSync(fileOf("s")).ino).toBe(ino);
      expect(fs.statSync(fileOf("s")).size).toBeLessThanOrEqual(SLOT_HEADER + 2 * c);
      expect(decodeUtf8(kv.get("s")!.value)).toBe("v3");
      // v3 went into slot 0 (v1's), v2 stays whole in slot 1.
      const bytes = fs.readFileSync(fileOf("s"));
      expect(bytes.includes(Buffer.from("v3"))).toBe(true);
      expect(bytes.includes(Buffer.from("v2"))).toBe(true);
      expect(bytes.includes(Buffer.from("v1"))).toBe(false);
    });

    it("an update cut short (a torn slot) leaves the newest whole record served", () => {
      kv.put("t", text("first"));
      const v2 = kv.put("t", text("second"));
      // An interrupted third write: half of a record in slot 0, where it would have gone.
      const c = capacity("t");
      const torn = slotBytes(3, encodeRecord({ key: "t", writtenAt: 5, parts: [{ version: "9.0.x", origin: "edge", value: text("third") }], replaced: [] }));
      const fd = fs.openSync(fileOf("t"), "r+");
      fs.writeSync(fd, torn.subarray(0, torn.length - 4), 0, torn.length - 4, SLOT_HEADER);
      fs.closeSync(fd);
      expect(c).toBeGreaterThan(torn.length);
      expect(kv.get("t")).toMatchObject({ value: text("second"), version: v2 });
      // The next write goes into the torn slot and is served.
      kv.put("t", text("fourth"));
      expect(decodeUtf8(kv.get("t")!.value)).toBe("fourth");
    });

    it("a record that outgrows its slot gets a new, larger file", () => {
      kv.put("g", text("x"));
      const c = capacity("g");
      const ino = fs.statSync(fileOf("g")).ino;
      kv.put("g", text("y".repeat(c + 10)));
      expect(capacity("g")).toBeGreaterThan(c + 10);
      expect(fs.statSync(fileOf("g")).ino).not.toBe(ino);
      expect(kv.get("g")!.value.length).toBe(c + 10);
      kv.put("g", text("z"));
      expect(decodeUtf8(kv.get("g")!.value)).toBe("z");
    });

    it("reads a one-record file from before slots and turns it into a slotted one on the next write", () => {
      fs.mkdirSync(path.join(dir.root, "kv"), { recursive: true });
      fs.writeFileSync(fileOf("old"), encodeRecord({ key: "old", writtenAt: 1, parts: [{ version: "1.0.a", origin: "edge", value: text("before") }], replaced: [] }));
      expect(kv.get("old")).toMatchObject({ value: text("before"), version: "1.0.a" });
      kv.put("old", text("after"));
      expect(fs.readFileSync(fileOf("old")).subarray(0, 4).toString()).toBe("KES1");
      expect(kv.get("old")!.value).toEqual(text("after"));
    });

    it("a file removed between the read and the write (eviction) is written whole again", () => {
      kv.put("e", text("1"));
      expect(dir.overwrite("kv/nothing-here", 8, text("x"))).toBe(false);
      expect(fs.existsSync(path.join(dir.root, "kv/nothing-here"))).toBe(false);
      fs.rmSync(fileOf("e"));
      kv.put("e", text("2"));
      expect(decodeUtf8(kv.get("e")!.value)).toBe("2");
    });

    it("a flipped byte in the only record of a key is reported", () => {
      kv.put("f", text("only"));
      const bytes = fs.readFileSync(fileOf("f"));
      bytes[SLOT_HEADER + 20] ^= 0x10;
      fs.writeFileSync(fileOf("f"), bytes);
      expect(() => kv.get("f")).toThrow(expect.objectContaining({ tag: "corrupt" }));
    });
  });

  it("breaks a lock left by a killed writer once it is stale", () => {
    kv.put("k", text("1"));
    const lock = path.join(dir.root, "kv", Buffer.from("k").toString("hex") + ".lock");
    fs.writeFileSync(lock, "");
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(lock, old, old);
    kv = new Kv(dir, { maxValueBytes: 1024, now: () => Date.now() });
    kv.put("k", text("2"));
    expect(decodeUtf8(kv.get("k")!.value)).toBe("2");
    expect(fs.existsSync(lock)).toBe(false);
  });
});

describe("utf8", () => {
  it("matches TextEncoder/TextDecoder on mixed text", () => {
    const s = "aé€😀\u0000z";
    expect(encodeUtf8(s)).toEqual(new TextEncoder().encode(s));
    expect(decodeUtf8(new TextEncoder().encode(s))).toBe(s);
  });

  it.each([[[0xc3, 0x28]], [[0xe0, 0x80, 0x80]], [[0xed, 0xa0, 0x80]], [[0xf4, 0x90, 0x80, 0x80]], [[0xff]], [[0xe2, 0x82]]])("rejects malformed %j", (bytes) => {
    expect(() => decodeUtf8(Uint8Array.from(bytes))).toThrow();
  });
});
