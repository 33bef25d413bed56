// Sharing repeated core modules: a composition shaped like wac's output (components nested at
// different depths, the same big module in two of them, another module once) keeps one copy at
// the top, aliases it where the copies were, leaves the rest alone, and wasmtime accepts it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { tool } from "../lib/project.ts";
import { shareModules } from "../lib/share-modules.ts";

const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const section = (id: number, body: Uint8Array) => Buffer.concat([Uint8Array.from([id, ...leb(body.length)]), body]);
const component = (...sections: Uint8Array[]) => Buffer.concat([Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]), ...sections]);
/** A valid core module of `size` bytes of custom section filled with `fill`. */
const coreModule = (size: number, fill: number) => {
  const name = Buffer.from("pad");
  const custom = Buffer.concat([Uint8Array.from([name.length]), name, Buffer.alloc(size, fill)]);
  return Buffer.concat([Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]), section(0, custom)]);
};

/** Top-level section ids and nested layout, for asserting the shape. */
function shape(b: Uint8Array, at = 8, end = b.length): unknown[] {
  const out: unknown[] = [];
  while (at < end) {
    const id = b[at];
    let size = 0;
    let shift = 0;
    let i = at + 1;
    for (;;) {
      size += (b[i] & 0x7f) * 2 ** shift;
      shift += 7;
      if (!(b[i++] & 0x80)) break;
    }
    out.push(id === 4 ? shape(b, i + 8, i + size) : id === 6 ? `alias ${[...b.subarray(i, i + size)].join(",")}` : id === 1 ? `module ${size}` : `section ${id}`);
    at = i + size;
  }
  return out;
}

describe("share-modules", () => {
  const engine = coreModule(100_000, 7);
  const other = coreModule(90_000, 9);
  const small = coreModule(100, 7);
  const composition = component(
    section(4, component(section(1, engine), section(1, small))),
    section(4, component(section(4, component(section(1, small), section(1, engine))))),
    section(4, component(section(1, other))),
  );

  it("keeps one copy at the top and aliases it where each copy was, at the right depth", () => {
    const { bytes, report } = shareModules(composition);
    expect(report).toMatchObject({ modules: 1, aliases: 2, before: composition.length });
    expect(report.after).toBe(bytes.length);
    expect(composition.length - bytes.length).toBeGreaterThan(99_000);
    const small = `module ${coreModule(100, 7).length}`;
    expect(shape(bytes)).toEqual([
      `module ${engine.length}`,
      // depth 1: outer 1 level, module 0; the small module is not worth sharing
      ["alias 1,0,17,2,1,0", small],
      // depth 2: outer 2 levels, keeping the alias in the module's place in the index space
      [[small, "alias 1,0,17,2,2,0"]],
      // a module that appears once stays where it is
      [`module ${other.length}`],
    ]);
  });

  it("gives back what it was given when nothing repeats", () => {
    const once = component(section(4, component(section(1, engine))), section(4, component(section(1, other))));
    const { bytes, report } = shareModules(once);
    expect(report.aliases).toBe(0);
    expect(Buffer.from(bytes).equals(once)).toBe(true);
  });

  it("refuses what it cannot rewrite safely", () => {
    expect(() => shareModules(Buffer.from("not wasm at all"))).toThrow(/not a component/);
    expect(() => shareModules(coreModule(10, 1))).toThrow(/not a component/);
    expect(() => shareModules(component(section(1, engine), section(4, component(section(1, engine)))))).toThrow(/core modules of its own/);
    const truncated = composition.subarray(0, composition.length - 10);
    expect(() => shareModules(truncated)).toThrow(/runs past the end/);
  });

  it("produces a component wasmtime validates and compiles", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keel-share-"));
    try {
      const file = path.join(dir, "shared.wasm");
      fs.writeFileSync(file, shareModules(composition).bytes);
      const r = spawnSync(tool("wasmtime"), ["compile", "-o", path.join(dir, "shared.cwasm"), file], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
