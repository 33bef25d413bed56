// The WebAssembly-text resolver against the TypeScript order it must match: the built
// component (dist/host/resolver-lite, transpiled by pnpm build) decides every pair of random
// versions the way last-write-wins does in the conflict component.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { compare } from "@keel/model";

const ROOT = path.resolve(import.meta.dirname, "..", "..", "..");

interface Stamp { wallMs: bigint; counter: number; node: string }
const version = (s: Stamp, value: Uint8Array | undefined) => ({ stamp: s, origin: "edge", value });

describe("resolver-lite (the built WAT component)", async () => {
  const dir = path.join(ROOT, "dist/host/resolver-lite");
  const mod = await import(path.join(dir, "resolver-lite.js"));
  // Transpiled with sync instantiation (as the Node host loads components); it imports nothing.
  const inst = mod.instantiate((p: string) => new WebAssembly.Module(fs.readFileSync(path.join(dir, p))), {});
  const resolver = inst.resolver ?? inst["keel:conflict/resolver@0.1.0"];

  it("answers last-write-wins for every key", () => {
    expect(resolver.strategyFor("a")).toBe("last-write-wins");
    expect(resolver.strategyFor("x".repeat(10_000))).toBe("last-write-wins");
  });

  it("keeps the local version exactly when it is later (wall-ms, counter, node id)", () => {
    const node = fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/);
    const stamp = fc.record({ wallMs: fc.bigInt({ min: 0n, max: 2n ** 52n }) /* wall-ms stays a safe integer in the TypeScript model */, counter: fc.integer({ min: 0, max: 2 ** 31 }), node });
    const close = fc.tuple(stamp, fc.boolean(), fc.boolean(), node).map(([a, sameWall, sameCounter, n]) => [a, { wallMs: sameWall ? a.wallMs : a.wallMs + 1n, counter: sameCounter ? a.counter : a.counter + 1, node: n }] as const);
    fc.assert(fc.property(fc.oneof(fc.tuple(stamp, stamp), close), fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }), ([l, r], value) => {
      const res = resolver.resolve("k/ey", version(l, value), version(r, undefined));
      const expected = compare({ ...l, wallMs: Number(l.wallMs) }, { ...r, wallMs: Number(r.wallMs) }) > 0 ? "keep-local" : "take-remote";
      expect(res.decision.tag).toBe(expected);
      expect(res.strategy).toBe("last-write-wins");
      expect(res.fallbackReason ?? null).toBeNull();
    }), { numRuns: 2000 });
  });
});
