// The gzip component (components/gzip: libdeflate compiled, keel:text/gzip), called as the Node
// host calls it, checked against node:zlib; @keel/wire using it; and the committed core module
// against a build from its sources when clang is here.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { gunzipSync, gzipSync, inflateRawSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { hostInterface } from "../helpers/host-component.ts";
import { decodeBody, encodeBody, openRecord, parseSealKeys, sealRecord, useGzip, type Gzip } from "@keel/wire";
import { cToolchain } from "../../scripts/lib/c-toolchain.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const MAX = 32 * 1024 * 1024;

let gzip: Gzip;
beforeAll(async () => {
  gzip = await hostInterface<Gzip>("gzip", "keel:text/gzip");
});

/** The message of what a failed call threw (the WIT error string, however the glue wraps it). */
function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    const x = e as { payload?: unknown; message?: string };
    return String(typeof x.payload === "string" ? x.payload : x.message ?? e);
  }
  throw new Error("expected a refusal");
}

describe("keel:text/gzip", () => {
  const text = Buffer.from(Array.from({ length: 3000 }, (_, i) => JSON.stringify({ i, sensor: i % 17, pad: "x".repeat(60) })).join("\n"));
  const inputs = { empty: Buffer.alloc(0), one: Buffer.from("x"), text, random: randomBytes(200_000) };

  it("compresses what node:zlib inflates back, at every level, and inflates what node:zlib compresses", () => {
    for (const [name, data] of Object.entries(inputs)) {
      for (const level of [0, 1, 6, 12, 200]) {
        const z = Buffer.from(gzip.compress(data, level));
        expect(gunzipSync(z).equals(data), `${name} at ${level}`).toBe(true);
      }
      expect(Buffer.from(gzip.decompress(gzipSync(data), MAX)).equals(data), name).toBe(true);
    }
    // Repetitive text shrinks, and more at a higher level.
    expect(gzip.compress(text, 6).length).toBeLessThan(text.length / 10);
    expect(gzip.compress(text, 6).length).toBeLessThanOrEqual(gzip.compress(text, 1).length);
  });

  it("refuses what is not gzip, is damaged, would inflate past the limit, or has bytes after it — and keeps working", () => {
    const z = gzipSync(text);
    expect(refusal(() => gzip.decompress(text.subarray(0, 100), MAX))).toMatch(/not gzip/);
    expect(refusal(() => gzip.decompress(z.subarray(0, 10), MAX))).toMatch(/not gzip/);
    expect(refusal(() => gzip.decompress(z, text.length - 1))).toMatch(/inflates past the limit/);
    // A gzip bomb's trailer cannot lie its way past the limit: a smaller size is refused too.
    const lying = Buffer.from(z);
    lying.writeUInt32LE(100, lying.length - 4);
    expect(refusal(() => gzip.decompress(lying, MAX))).toMatch(/holds other than its trailer says|not valid gzip/);
    const flipped = Buffer.from(z);
    flipped[flipped.length >> 1] ^= 0x40;
    expect(refusal(() => gzip.decompress(flipped, MAX))).toMatch(/not valid gzip|holds other/);
    // Bytes after the member (here ending as its trailer does, so the size check passes).
    expect(refusal(() => gzip.decompress(Buffer.concat([z, z.subarray(z.length - 4)]), MAX))).toMatch(/bytes after the gzip member/);
    expect(refusal(() => gzip.decompress(Buffer.concat([z, Buffer.from("trailing")]), MAX))).toMatch(/inflates past the limit/);
    // The instance is still usable after every refusal, and frees what it handed back: a
    // thousand round trips of 200 KB do not exhaust it.
    for (let i = 0; i < 1000; i++) expect(gzip.decompress(gzip.compress(inputs.random, 1), MAX).length).toBe(inputs.random.length);
  });

  it("deflates raw streams that node:zlib inflates, at every level", () => {
    for (const [name, data] of Object.entries(inputs)) {
      for (const level of [0, 1, 6, 12]) expect(inflateRawSync(gzip.deflate(data, level)).equals(data), `${name} at ${level}`).toBe(true);
    }
    expect(gzip.deflate(text, 6).length).toBeLessThan(text.length / 10);
  });

  it("@keel/wire seals records deflated by it, which open as before (fflate inflates them)", () => {
    const keys = parseSealKeys(`k1:${randomBytes(32).toString("base64")}`);
    const ctx = { topic: "events", origin: "e1", offset: 7 };
    const payload = new TextEncoder().encode(JSON.stringify({ sensor: 3, pad: "x".repeat(200) }));
    const plain = sealRecord(keys, ctx, payload, (n) => new Uint8Array(randomBytes(n)));
    useGzip(gzip);
    const sealed = sealRecord(keys, ctx, payload, (n) => new Uint8Array(randomBytes(n)));
    expect(Buffer.from(openRecord(keys, ctx, sealed)).equals(Buffer.from(payload))).toBe(true);
    // Deflated (the record is far smaller than its payload), as fflate's was.
    expect(sealed.length).toBeLessThan(payload.length / 2);
    expect(Math.abs(sealed.length - plain.length)).toBeLessThan(16);
  });

  it("@keel/wire gzips batches with it and refuses a damaged one as before", () => {
    useGzip(gzip);
    const doc = { v: 1, node: "e1", kv: [], topics: [{ t: "events", r: [[0, 1, "eA=="]] }] };
    const { body, raw } = encodeBody(doc, true);
    expect(body[0]).toBe(0x1f);
    expect(raw).toBe(JSON.stringify(doc).length);
    expect(JSON.parse(gunzipSync(body).toString())).toEqual(doc);
    expect(decodeBody(body)).toEqual(doc);
    const bad = Buffer.from(body);
    bad[12] ^= 0xff;
    expect(() => decodeBody(bad)).toThrow(/not valid gzip/);
  });
});

describe("components/gzip/core/gzip.core.wasm", () => {
  const cc = cToolchain();
  it.skipIf("missing" in cc)(`is what its sources build (pnpm gzip-core --check)${"missing" in cc ? `: skipped, ${cc.missing}` : ""}`, () => {
    execFileSync(process.execPath, [path.join(ROOT, "scripts", "gzip-core.ts"), "--check"], { cwd: ROOT, stdio: "pipe" });
  }, 120_000);
});
