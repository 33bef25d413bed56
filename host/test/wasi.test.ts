// host/src/wasi.ts: what the Node host gives components as WASI. Its own parts work without
// preview2-shim; the deferred ones load it on first use and then behave as the shim's exports
// (calls, `new`, statics, `prototype`, `instanceof`), which is what jco's glue relies on.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { setEnv, WASI } from "../src/wasi.ts";
import { shimLoaded } from "../src/shim.ts";

type Fn = (...a: unknown[]) => unknown;
type Ctor = (new (...a: unknown[]) => object) & Record<string, unknown>;
const iface = (pkg: string, name: string) => WASI[pkg][name] as Record<string, Fn & Ctor>;

describe("Node host WASI", () => {
  it("environment, clocks, random and stdio are served without preview2-shim", () => {
    setEnv({ KEEL_NODE_ID: "n1" });
    expect(iface("cli", "environment").getEnvironment()).toEqual([["KEEL_NODE_ID", "n1"]]);
    const before = iface("clocks", "monotonicClock").now() as bigint;
    expect(iface("clocks", "monotonicClock").now() as bigint).toBeGreaterThanOrEqual(before);
    const wall = iface("clocks", "wallClock").now() as { seconds: bigint; nanoseconds: number };
    expect(Number(wall.seconds)).toBeCloseTo(Date.now() / 1000, -1);
    expect(wall.nanoseconds).toBeLessThan(1e9);
    const bytes = iface("random", "random").getRandomBytes(32n) as Uint8Array;
    expect(bytes).toHaveLength(32);
    expect(bytes.some((b) => b !== 0)).toBe(true);
    const seed = iface("random", "insecureSeed").insecureSeed() as bigint[];
    expect(iface("random", "insecureSeed").insecureSeed()).toEqual(seed);
    const stderr = iface("cli", "stderr").getStderr();
    // The glue checks what a host function returns against the class it imported.
    expect(stderr instanceof iface("io", "streams").OutputStream).toBe(true);
    expect(shimLoaded()).toBe(false);
  });

  it("deferred exports load preview2-shim and then are its exports", () => {
    const { Pollable, poll } = iface("io", "poll");
    const pollable = iface("clocks", "monotonicClock").subscribeDuration(0n) as object;
    expect(shimLoaded()).toBe(true);
    expect(pollable instanceof Pollable).toBe(true);
    expect(poll([pollable])).toEqual(new Uint32Array([0]));
    expect({} instanceof Pollable).toBe(false);
    expect(Object.create(Pollable.prototype as object) instanceof Pollable).toBe(true);
    const { TerminalOutput } = iface("cli", "terminalOutput");
    expect(new TerminalOutput()).toBeInstanceOf(Object);
    const { Fields } = iface("http", "types");
    const fields = (Fields.fromList as Fn)([["x-a", new TextEncoder().encode("1")]]) as { get(n: string): Uint8Array[] };
    expect(fields.get("x-a").map((b) => new TextDecoder().decode(b))).toEqual(["1"]);
    expect(fields instanceof Fields).toBe(true);
    // Our stdio streams still pass the glue's class check once the shim's class is the real one.
    expect(iface("cli", "stdout").getStdout() instanceof iface("io", "streams").OutputStream).toBe(true);
  });

  it("a component's stderr line reaches the process's stderr, whole", () => {
    const line = `${"x".repeat(100_000)}\n`;
    const script = `import { WASI } from ${JSON.stringify(path.resolve(import.meta.dirname, "../src/wasi.ts"))};
      const err = WASI.cli.stderr.getStderr();
      err.blockingWriteAndFlush(new TextEncoder().encode(${JSON.stringify(line)}));
      err.write(new TextEncoder().encode("second\\n"));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(`${line}second\n`);
  });
});
