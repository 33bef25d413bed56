import { describe, expect, it } from "vitest";
import { crc32 } from "../src/crc32.ts";

// The reference, a byte at a time, to check the slicing-by-8 version against.
function slow(b: Uint8Array, start = 0, end = b.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) {
    c ^= b[i];
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe("crc32", () => {
  it("matches the standard check value", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it("matches the bytewise reference for every length and offset up to 40", () => {
    const data = Uint8Array.from({ length: 64 }, (_, i) => (i * 151 + 7) & 255);
    for (let start = 0; start < 8; start++) for (let end = start; end <= start + 40; end++) expect(crc32(data, start, end)).toBe(slow(data, start, end));
  });
});
