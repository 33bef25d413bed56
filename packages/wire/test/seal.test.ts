// Sealed records (packages/wire/src/seal.ts): round trips, rotation, and every way a record is
// refused — wrong key, a flipped byte anywhere, an unknown key id, truncation, a record moved to
// another topic, origin or offset — each with its reason.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MIN_SEALED_BYTES, SealError, openRecord, parseSealKeys, sealRecord, sealedHeader, WireError, type SealRefusal } from "../src/index.ts";

const random = (n: number) => new Uint8Array(randomBytes(n));
const b64 = (b: Uint8Array | Buffer) => Buffer.from(b).toString("base64");
const K1 = randomBytes(32);
const K0 = randomBytes(32);
const at = { topic: "events", origin: "edge-a", offset: 7 };
const text = (s: string) => new TextEncoder().encode(s);

function refusal(f: () => unknown): SealRefusal {
  try {
    f();
  } catch (e) {
    if (e instanceof SealError) return e.reason;
    throw e;
  }
  throw new Error("opened, but should have been refused");
}

describe("sealed records", () => {
  const keys = parseSealKeys(`k1:${b64(K1)}`);

  it("round-trip: small and compressible payloads, compressing only what gets smaller", () => {
    for (const payload of [new Uint8Array(0), text("x"), text("secret-marker"), text(`{"pad":"${"z".repeat(2000)}"}`), random(3000)]) {
      const sealed = sealRecord(keys, at, payload, random);
      expect(openRecord(keys, at, sealed)).toEqual(payload);
      expect(sealedHeader(sealed).kid).toBe("k1");
      // The plaintext does not show through. Only for payloads of 8 bytes or more: a 1-byte
      // payload ("x") is found in ~50 sealed random-looking bytes about one run in five.
      if (payload.length >= 8) expect(Buffer.from(sealed).includes(Buffer.from(payload.subarray(0, 8)))).toBe(false);
    }
    // 2,000 repeated characters deflate to a few bytes; random bytes are sent as they are.
    expect(sealRecord(keys, at, text("z".repeat(2000)), random).length).toBeLessThan(100);
    expect(sealRecord(keys, at, random(3000), random).length).toBe(3000 + MIN_SEALED_BYTES + 1);
  });

  it("a fresh random nonce each time: the same payload never seals to the same bytes", () => {
    const a = sealRecord(keys, at, text("same"), random);
    const b = sealRecord(keys, at, text("same"), random);
    expect(b64(a)).not.toBe(b64(b));
  });

  it("rotation: the first key seals; a record sealed with an older key opens once a new key is added first", () => {
    const old = parseSealKeys(`k0:${b64(K0)}`);
    const sealedOld = sealRecord(old, at, text("before rotation"), random);
    const rotated = parseSealKeys(`k1:${b64(K1)}, k0:${b64(K0)}`);
    expect(new TextDecoder().decode(openRecord(rotated, at, sealedOld))).toBe("before rotation");
    const sealedNew = sealRecord(rotated, at, text("after"), random);
    expect(sealedHeader(sealedNew).kid).toBe("k1");
    expect(refusal(() => openRecord(old, at, sealedNew))).toBe("unknown_key");
  });

  it("refuses a wrong key under the same key id", () => {
    const sealed = sealRecord(keys, at, text("hello"), random);
    const wrong = parseSealKeys(`k1:${b64(randomBytes(32))}`);
    expect(refusal(() => openRecord(wrong, at, sealed))).toBe("wrong_key");
    expect(() => openRecord(wrong, at, sealed)).toThrow(/key k1 here is not the key/);
  });

  it("refuses a record with any byte flipped (header, key check, nonce, ciphertext or tag)", () => {
    const sealed = sealRecord(keys, at, text("a payload long enough to compress: " + "ab".repeat(40)), random);
    for (let i = 0; i < sealed.length; i++) {
      const bad = sealed.slice();
      bad[i] ^= 0x01;
      const reason = refusal(() => openRecord(keys, at, bad));
      // Where the flip lands decides what it looks like: a broken header is not a sealed record, a
      // changed key id is an unknown key, a changed key check a wrong key, anything after it tampering.
      // (A longer kid length takes in a key-check byte, which may or may not be a kid character.)
      const expected = i < 2 ? ["not_sealed"] : i === 2 ? ["not_sealed", "unknown_key"] : i < 5 ? ["unknown_key"] : i < 9 ? ["wrong_key"] : ["tampered"];
      expect(expected, `byte ${i}: ${reason}`).toContain(reason);
    }
  });

  it("refuses an unknown key id", () => {
    const sealed = sealRecord(parseSealKeys(`k9:${b64(K1)}`), at, text("x"), random);
    expect(refusal(() => openRecord(keys, at, sealed))).toBe("unknown_key");
    expect(() => openRecord(keys, at, sealed)).toThrow(/key id k9, which this node does not hold \(it has k1\)/);
  });

  it("refuses truncated records and what is not sealed at all", () => {
    const sealed = sealRecord(keys, at, text("truncate me"), random);
    for (const n of [0, 1, 2, 5, MIN_SEALED_BYTES - 1]) expect(refusal(() => openRecord(keys, at, sealed.subarray(0, n))), `${n} bytes`).toBe("not_sealed");
    for (const n of [MIN_SEALED_BYTES + 1, sealed.length - 1]) expect(refusal(() => openRecord(keys, at, sealed.subarray(0, n))), `${n} bytes`).toBe("tampered");
    expect(refusal(() => openRecord(keys, at, text(`{"plain":"json record, long enough to pass the size check ..."}`)))).toBe("not_sealed");
  });

  it("binds a record to its topic, origin and offset (associated data)", () => {
    const sealed = sealRecord(keys, at, text("bound"), random);
    for (const moved of [{ ...at, topic: "other" }, { ...at, origin: "edge-b" }, { ...at, offset: 8 }]) {
      expect(refusal(() => openRecord(keys, moved, sealed))).toBe("tampered");
    }
    expect(new TextDecoder().decode(openRecord(keys, { ...at }, sealed))).toBe("bound");
  });

  it("parses key lists strictly and never quotes key material", () => {
    const secret = b64(randomBytes(16));
    for (const [bad, msg] of [
      ["", /no keys/],
      [b64(K1), /kid:BASE64KEY/],
      [`bad kid:${b64(K1)}`, /key id of 1-32/],
      [`${"k".repeat(33)}:${b64(K1)}`, /key id of 1-32/],
      [`k1:${secret}`, /16 bytes; keys are 32 bytes/],
      [`k1:not*base64`, /not base64/],
      [`k1:${b64(K1)},k1:${b64(K0)}`, /given twice/],
    ] as const) {
      let err: unknown;
      try {
        parseSealKeys(bad);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(WireError);
      expect((err as Error).message).toMatch(msg);
      expect((err as Error).message).not.toContain(secret);
    }
    // URL-safe base64 is accepted too.
    expect(parseSealKeys(`a_b-1:${Buffer.from(K1).toString("base64url")}`)[0].key).toEqual(new Uint8Array(K1));
  });
});
