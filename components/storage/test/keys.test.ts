// A key's file name: the ASCII fast path (keyFileName) names every key exactly as the general
// path does (fileName over checkKey's bytes), and refuses the same keys with the same error.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Buffer } from "node:buffer";
import { checkKey, fileName, keyFileName } from "../src/keys.ts";

const general = (key: string): unknown => {
  try {
    return fileName(checkKey(key));
  } catch (e) {
    return { thrown: e };
  }
};
const fast = (key: string): unknown => {
  try {
    return keyFileName(key);
  } catch (e) {
    return { thrown: e };
  }
};

describe("keyFileName", () => {
  it("names printable ASCII keys by their hex, as Node's hex of the UTF-8 bytes", () => {
    expect(keyFileName("bench-1")).toBe(Buffer.from("bench-1").toString("hex"));
    expect(keyFileName(" ~")).toBe("207e");
    expect(keyFileName("a".repeat(100))).toBe("61".repeat(100));
  });

  it("agrees with fileName(checkKey(key)) on every single character and on the length edges", () => {
    for (let c = 0; c < 0x800; c++) expect(fast(String.fromCharCode(c))).toEqual(general(String.fromCharCode(c)));
    for (const n of [0, 1, 99, 100, 101, 511, 512, 513]) {
      for (const ch of ["a", "é", "\u0001", "\ud83d\ude00"]) expect(fast(ch.repeat(n))).toEqual(general(ch.repeat(n)));
    }
    // ASCII up to 100 characters, then one character that is not: the general path decides.
    expect(fast("a".repeat(99) + "é")).toEqual(general("a".repeat(99) + "é"));
    expect(fast("\ud800")).toEqual(general("\ud800"));
  });

  it("agrees with fileName(checkKey(key)) on generated keys (ASCII, controls, any UTF-16, lone surrogates)", () => {
    const keys = fc.oneof(
      fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 130 }),
      fc.string({ unit: "binary", maxLength: 130 }),
      fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 130 }),
      fc.string({ unit: "grapheme", maxLength: 600 }),
    );
    fc.assert(fc.property(keys, (k) => {
      expect(fast(k)).toEqual(general(k));
    }), { numRuns: 2000 });
  });
});
