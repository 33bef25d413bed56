// A per-path lock file shared by every instance on the data dir (O_EXCL create). wasmtime
// serve runs concurrent requests in separate instances that share nothing but files.
import type { Dir } from "./dir.ts";
import { storageError } from "./errors.ts";

/** A lock older than this is left over from a killed process and is broken. */
const STALE_MS = 5_000;
/** Give up waiting after this long. */
const WAIT_MS = 10_000;

export function withLock<T>(dir: Dir, path: string, now: () => number, fn: () => T): T {
  const lock = `${path}.lock`;
  const start = now();
  const stamp = new Uint8Array(0);
  let spins = 0;
  while (!dir.createExclusive(lock, stamp)) {
    const st = dir.stat(lock);
    if (st && now() - st.mtimeMs > STALE_MS) {
      dir.remove(lock);
      continue;
    }
    if (now() - start > WAIT_MS) throw storageError("io", `timed out waiting for ${lock}`);
    // No sleep in a synchronous component: back off by spinning, briefly.
    spins++;
    for (let i = 0; i < Math.min(spins, 50) * 200; i++);
  }
  try {
    return fn();
  } finally {
    dir.remove(lock);
  }
}
