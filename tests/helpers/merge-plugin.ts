// A built merge plug-in's `merge`, called directly: the component from dist/components,
// transpiled by `pnpm build` into dist/host/<name>/ and instantiated as the Node host does
// (jco, sync instantiation, WASI from preview2-shim for the components that import it).
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import * as shim from "@bytecodealliance/preview2-shim";
import type { Version } from "@keel/model";
import { ROOT } from "./nodes.ts";
import { cToolchain } from "../../scripts/lib/c-toolchain.ts";

const requireModule = createRequire(import.meta.url);

/** The record jco passes for the WIT `version` (u64 as bigint, none as undefined). */
interface WitVersion {
  stamp: { wallMs: bigint; counter: number; node: string };
  origin: "edge" | "cloud";
  value?: Uint8Array;
}
type Merge = (key: string, local: WitVersion, remote: WitVersion) => WitVersion;

/** The merge's outcome: the merged value, or the plug-in's error (`unmergeable: why`). */
export type MergeOutcome = { value: Uint8Array | null } | { error: string };
export type MergeCall = (key: string, local: Version, remote: Version) => MergeOutcome;

export const componentFile = (name: string) => path.join(ROOT, "dist", "components", `${name}.wasm`);

/** Why plug-in `name` is not there to test: its optional toolchain is missing, or no build ran. */
export function whyNotBuilt(name: string): string {
  const cc = name.endsWith("-c") ? cToolchain() : undefined;
  return cc && "missing" in cc ? `${name} is not built: ${cc.missing}` : `${componentFile(name)} is not built (run pnpm build)`;
}

/** Skip the running test because plug-in `name` is not built, saying why on stderr too (the default reporter shows no skip notes). */
export function skipUnbuilt(ctx: { skip: (note?: string) => never }, name: string): never {
  const why = whyNotBuilt(name);
  console.warn(`skipped: ${why}`);
  return ctx.skip(why);
}

/** Instantiate plug-in `name` (null when it has not been built). */
export function loadMergePlugin(name: string): MergeCall | null {
  const dir = path.join(ROOT, "dist", "host", name);
  const glue = path.join(dir, `${name}.js`);
  if (!fs.existsSync(glue)) return null;
  const { instantiate } = requireModule(glue) as { instantiate: (core: (p: string) => WebAssembly.Module, imports: unknown) => Record<string, { merge: Merge }> };
  const wasi = shim as unknown as Record<string, Record<string, unknown>>;
  const imports = new Proxy({}, {
    get: (_, spec) => {
      const m = typeof spec === "string" ? /^wasi:([^/]+)\/([^@#]+)/.exec(spec) : null;
      return m ? wasi[m[1]]?.[m[2].replace(/-([a-z])/g, (_s, c: string) => c.toUpperCase())] : undefined;
    },
  });
  const inst = instantiate((p) => new WebAssembly.Module(fs.readFileSync(path.join(dir, p))), imports);
  const merge = (inst["keel:conflict/merge@0.1.0"] ?? (inst as unknown as { merge: { merge: Merge } }).merge).merge;
  const wit = (v: Version): WitVersion => ({ stamp: { wallMs: BigInt(v.stamp.wallMs), counter: v.stamp.counter, node: v.stamp.node }, origin: v.origin, value: v.value ?? undefined });
  return (key, local, remote) => {
    try {
      return { value: merge(key, wit(local), wit(remote)).value ?? null };
    } catch (e) {
      const p = (e as { payload?: { tag: string; val: string } }).payload;
      if (!p) throw e;
      return { error: `${p.tag}: ${p.val}` };
    }
  };
}
