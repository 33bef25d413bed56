// The text component's UTF-8 decoder (keel:text/utf8 decode: WebAssembly text, components/text),
// called as the Node host calls it, against a fatal TextDecoder on generated and hand-picked
// bytes; and @keel/bytes decodeUtf8 using it for long runs.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { decodeUtf8, fromBase64, packRecords, toBase64, toBase64All, useBase64, useUtf8Decoder } from "@keel/bytes";
import { hostInterface } from "../helpers/host-component.ts";

const fatal = new TextDecoder("utf-8", { fatal: true });
type Utf8 = { decode(b: Uint8Array): string | null | undefined; encode(s: string): Uint8Array; encodePacked(list: string[]): Uint8Array };

/** Each text's UTF-8 bytes after their u32 little-endian length, as storage's append-packed takes them. */
const packed = (list: string[]) => packRecords(list.map((t) => new TextEncoder().encode(t)));

let utf8: Utf8;
beforeAll(async () => {
  utf8 = await hostInterface<Utf8>("text", "keel:text/utf8");
});

/** What a fatal TextDecoder makes of `b`: the text, or null when it refuses. */
function expected(b: Uint8Array): string | null {
  try {
    return fatal.decode(b);
  } catch {
    return null;
  }
}

describe("keel:text/utf8 decode", () => {
  it("gives what a fatal TextDecoder gives, and none where it refuses", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 60 }), (b) => {
      expect(utf8.decode(b) ?? null).toBe(expected(b));
    }), { numRuns: 5000 });
    // Mostly valid text with one byte changed: the checks past the first byte of a character.
    fc.assert(fc.property(fc.string({ unit: "grapheme", minLength: 1, maxLength: 80 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (s, at, byte) => {
      const b = new TextEncoder().encode(s);
      b[at % b.length] = byte;
      expect(utf8.decode(b) ?? null).toBe(expected(b));
    }), { numRuns: 3000 });
    const cases: number[][] = [
      [], [0], [0x7f], [0xc2, 0x80], [0xdf, 0xbf], [0xe0, 0xa0, 0x80], [0xef, 0xbf, 0xbf], [0xf0, 0x90, 0x80, 0x80], [0xf4, 0x8f, 0xbf, 0xbf],
      [0x80], [0xc0, 0x80], [0xc1, 0xbf], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf0, 0x80, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80],
      [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0x61, 0xc3], [0xc3, 0x28],
    ];
    for (const c of cases) expect(utf8.decode(Uint8Array.from(c)) ?? null, JSON.stringify(c)).toBe(expected(Uint8Array.from(c)));
  });

  it("decodes long text whole (a 1 MB body, every scalar range)", () => {
    const s = "ascii run ".repeat(50_000) + "é€😀日本語".repeat(20_000) + "\u0000\u007f\u0080\u07ff\u0800\uffff";
    expect(utf8.decode(new TextEncoder().encode(s))).toBe(s);
  });

  it("@keel/bytes decodeUtf8 uses it for long runs and still throws on malformed bytes", () => {
    let calls = 0;
    useUtf8Decoder((b) => (calls++, utf8.decode(b)));
    const long = "x".repeat(300) + "é";
    expect(decodeUtf8(new TextEncoder().encode(long))).toBe(long);
    expect(decodeUtf8(new TextEncoder().encode("short é"))).toBe("short é");
    expect(calls).toBe(1);
    const bad = new TextEncoder().encode("y".repeat(300));
    bad[150] = 0xff;
    expect(() => decodeUtf8(bad)).toThrow(/malformed UTF-8/);
  });
});

describe("keel:text/utf8 encode-packed", () => {
  it("packs each text's UTF-8 after its length, in order (generated lists, empty ones, empty texts)", () => {
    fc.assert(fc.property(fc.array(fc.string({ unit: "grapheme", maxLength: 40 }), { maxLength: 30 }), (list) => {
      expect(utf8.encodePacked(list)).toEqual(packed(list));
    }), { numRuns: 2000 });
    expect(utf8.encodePacked([])).toEqual(new Uint8Array(0));
    expect(utf8.encodePacked(["", "", ""])).toEqual(new Uint8Array(12));
  });

  it("packs a batch larger than its memory's first page, and the instance goes on", () => {
    const big = Array.from({ length: 1000 }, (_, i) => `record-${i}-${"é€😀".repeat(40)}`);
    expect(utf8.encodePacked(big)).toEqual(packed(big));
    for (let i = 0; i < 200; i++) expect(utf8.encodePacked(["a", "bc"])).toEqual(packed(["a", "bc"]));
  });
});

describe("keel:text/base64 encode-all", () => {
  type Base64 = { encodeAll(items: Uint8Array[]): string[]; decode(text: string): Uint8Array | null | undefined };
  let b64: Base64;
  beforeAll(async () => {
    b64 = await hostInterface<Base64>("text", "keel:text/base64");
  });
  const reference = (b: Uint8Array) => Buffer.from(b).toString("base64");

  it("gives what Node's base64 gives for each item, in order (generated lists, empty items, every length mod 3)", () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 30 }), (items) => {
      expect(b64.encodeAll(items)).toEqual(items.map(reference));
    }), { numRuns: 2000 });
    expect(b64.encodeAll([])).toEqual([]);
    const cases = [[], [0], [0, 0], [0, 0, 0], [255], [255, 255], [255, 255, 255], [0xfb, 0xff], [0x3e, 0x3f, 0xfe]].map((c) => Uint8Array.from(c));
    expect(b64.encodeAll(cases)).toEqual(cases.map(reference));
  });

  it("encodes a batch larger than its memory's first page, and the instance goes on", () => {
    const big = Array.from({ length: 500 }, (_, i) => Uint8Array.from({ length: 300 + i }, (_, k) => (k * 7 + i) & 255));
    expect(b64.encodeAll(big)).toEqual(big.map(reference));
    const one = Uint8Array.from({ length: 1 << 20 }, (_, k) => (k * 31) & 255);
    expect(b64.encodeAll([one])).toEqual([reference(one)]);
    for (let i = 0; i < 200; i++) expect(b64.encodeAll([Uint8Array.of(1, 2), Uint8Array.of(3)])).toEqual(["AQI=", "Aw=="]);
  });

  it("decodes what @keel/bytes fromBase64 decodes, and refuses what it refuses (generated text, padding, bad characters)", () => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const texts = fc.oneof(
      fc.uint8Array({ maxLength: 90 }).map(reference),
      fc.uint8Array({ maxLength: 90 }).map((b) => reference(b).replace(/=+$/, "")),
      fc.array(fc.constantFrom(...alphabet, "=", "-", "_", " ", "é", "\u0000"), { maxLength: 40 }).map((cs) => cs.join("")),
    );
    fc.assert(fc.property(texts, (t) => {
      expect(b64.decode(t) ?? null).toEqual(fromBase64(t));
    }), { numRuns: 4000 });
    for (const t of ["", "=", "==", "A", "A=", "AA", "AA==", "AA====", "AAA", "AAA=", "AAAA", "AA=A", "A===", "////", "++++", "Zm9v", "Zm9vYg", "Zm9vYmE="]) {
      expect(b64.decode(t) ?? null, JSON.stringify(t)).toEqual(fromBase64(t));
    }
  });

  it("decodes a 1 MB value, and the instance goes on", () => {
    const one = Uint8Array.from({ length: 1 << 20 }, (_, k) => (k * 13) & 255);
    expect(b64.decode(reference(one))).toEqual(one);
    for (let i = 0; i < 200; i++) expect(b64.decode("AQI=")).toEqual(Uint8Array.of(1, 2));
  });

  it("@keel/bytes toBase64 and toBase64All use it once wired, and give the same text as without it", () => {
    const items = Array.from({ length: 40 }, (_, i) => Uint8Array.from({ length: i * 3 + (i % 3) }, (_, k) => (k + i) & 255));
    const plain = items.map((b) => toBase64(b));
    expect(toBase64All(items)).toEqual(plain);
    let calls = 0;
    let decodes = 0;
    useBase64({ encodeAll: (list) => (calls++, b64.encodeAll(list)), decode: (t) => (decodes++, b64.decode(t)) });
    try {
      expect(toBase64All(items)).toEqual(plain);
      expect(calls).toBe(1);
      expect(items.map((b) => toBase64(b))).toEqual(plain);
      // Items under 16 bytes stay in JavaScript; the rest are one call each.
      expect(calls).toBe(1 + items.filter((b) => b.length >= 16).length);
      expect(plain).toEqual(items.map(reference));
      // Decoding: texts of 16 characters or more go there; what it refuses is still null.
      expect(plain.map((t) => fromBase64(t))).toEqual(items);
      expect(decodes).toBe(plain.filter((t) => t.length >= 16).length);
      expect(fromBase64("A".repeat(17))).toBeNull();
      expect(fromBase64("AAAA".repeat(4) + "*")).toBeNull();
    } finally {
      useBase64(undefined);
    }
  });
});
