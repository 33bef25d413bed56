// preview2-shim, loaded on first use (wasi.ts says why not at start-up).
import { createRequire } from "node:module";

type Shim = Record<string, Record<string, Record<string, unknown>>>;
const requireModule = createRequire(import.meta.url);
let shim: Shim | undefined;
let onShimLoad: ((what: string) => void) | undefined;

/** preview2-shim, loaded now if it is not yet (synchronous: the glue's calls are). */
export function loadShim(what = "host"): Shim {
  if (!shim) {
    shim = requireModule("@bytecodealliance/preview2-shim") as Shim;
    onShimLoad?.(what);
  }
  return shim;
}

/** Whether preview2-shim (and its worker) has been loaded in this process. */
export function shimLoaded(): boolean {
  return shim !== undefined;
}

/** Called once, with the import that needed it, when preview2-shim is loaded (for the log). */
export function whenShimLoads(f: (what: string) => void): void {
  onShimLoad = f;
}
