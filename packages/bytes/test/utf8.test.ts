// UTF-8 without TextEncoder (utf8.ts), checked against Node's own encoder and decoder on
// generated strings and bytes: every scalar range, surrogate pairs, long ASCII runs, and the
// malformed input decodeUtf8 must refuse.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { decodeUtf8, encodeUtf8, encodeUtf8Many } from "../src/utf8.ts";

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

describe("utf8", () => {
  it("encodes as TextEncoder does, and decodes back", () => {
    fc.assert(fc.property(fc.string({ unit: "grapheme", maxLength: 300 }), (s) => {
      expect([...encodeUtf8(s)]).toEqual([...enc.encode(s)]);
      expect(decodeUtf8(encodeUtf8(s))).toBe(s);
    }));
    for (const s of ["", "a".repeat(10_000), "é€😀".repeat(3000), "x".repeat(4095) + "é" + "y".repeat(5000), "aé".repeat(5000), "日本語 ok ".repeat(2000), "x".repeat(15) + "é" + "z".repeat(40)]) {
      expect(decodeUtf8(enc.encode(s))).toBe(s);
      expect(encodeUtf8(s)).toEqual(enc.encode(s));
    }
  });

  it("refuses what a fatal TextDecoder refuses", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
      let want: string | Error;
      try { want = dec.decode(b); } catch (e) { want = e as Error; }
      if (want instanceof Error) expect(() => decodeUtf8(b)).toThrow();
      else expect(decodeUtf8(b)).toBe(want);
    }), { numRuns: 3000 });
    for (const bad of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80]]) expect(() => decodeUtf8(Uint8Array.from(bad))).toThrow();
  });
});

describe("encodeUtf8Many", () => {
  it("gives each string's own encoding, ASCII or not, with or without a native encoder", () => {
    fc.assert(fc.property(fc.array(fc.string({ unit: "grapheme", maxLength: 40 }), { maxLength: 30 }), (strings) => {
      expect(encodeUtf8Many(strings).map((b) => [...b])).toEqual(strings.map((s) => [...enc.encode(s)]));
    }));
    const ascii = Array.from({ length: 50 }, (_, i) => `{"o":${i},"t":1,"b":"QUJD"}`);
    expect(encodeUtf8Many(ascii).map((b) => new TextDecoder().decode(b))).toEqual(ascii);
    expect(encodeUtf8Many([])).toEqual([]);
  });
});
