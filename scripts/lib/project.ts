// Where things are, and the project's config files, for every script.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "smol-toml";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const DIST = path.join(ROOT, "dist");
export const TOOLS = process.env.KEEL_TOOLS || path.join(os.homedir(), ".cache", "keel", "tools");

export interface ComponentSpec {
  engine: "qjs" | "sm" | "wat" | "c" | "core";
  entry: string;
  /** c only: the other C files compiled with `entry` (wit-bindgen's bindings, the logic). */
  sources?: string[];
  wit: string;
  world: string;
  /** qjs only: use the size-optimised QuickJS runtime. */
  opt_size?: boolean;
  /** qjs only: build against `wasx:`-aliased WASI, then re-bind to `wasi:` (scripts/lib/wasi-alias.ts). */
  wasi_alias?: boolean;
  /** Built for tests only: no size budget, never composed by default. */
  test_fixture?: boolean;
}

export interface CompositionSpec {
  file: string;
  uses: string[];
  targets: { wit: string; world: string };
}

export function readComponentsConfig(): { components: Record<string, ComponentSpec>; compositions: Record<string, CompositionSpec> } {
  const file = path.join(ROOT, "compose", "components.toml");
  const cfg = parse(fs.readFileSync(file, "utf8")) as unknown as { components: Record<string, ComponentSpec>; compositions: Record<string, CompositionSpec> };
  return cfg;
}

/** Path of a tool: the pinned build in KEEL_TOOLS when present, else whatever is on PATH. */
export function tool(name: "wasmtime" | "wac"): string {
  const pinned = path.join(TOOLS, "bin", name);
  return fs.existsSync(pinned) ? pinned : name;
}
