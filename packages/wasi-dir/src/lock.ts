// A per-path lock file shared by every instance on the data dir (O_EXCL create). wasmtime
// serve runs concurrent requests in separate instances that share nothing but files.
import type { Dir } from "./dir.ts";
import { ioError } from "./errors.ts";

/**
 * A lock older than this is left over from a killed process and is broken. Holders keep a
 * lock for one read and one fsynced write (milliseconds), so 3 s is far past any live holder.
 */
export const STALE_MS = 3_000;
/** Give up waiting after this long. */
const WAIT_MS = 15_000;

export function withLock<T>(dir: Dir, path: string, now: () => number, fn: () => T): T {
  const lock = `${path}.lock`;
  const start = now();
  const empty = new Uint8Array(0);
  let waitMs = 1;
  while (!dir.createExclusive(lock, empty)) {
    const st = dir.stat(lock);
    if (st && now() - st.mtimeMs > STALE_MS) breakStale(dir, lock, now);
    else if (now() - start > WAIT_MS) throw ioError(`timed out after ${WAIT_MS} ms waiting for ${lock}`);
    // Back off with a real sleep (wasi monotonic clock) so waiters leave the CPU to the holder.
    dir.sleep(waitMs);
    waitMs = Math.min(waitMs * 2, 20);
  }
  try {
    return fn();
  } finally {
    dir.remove(lock);
  }
}

/**
 * Remove a stale lock without racing other waiters: only the one that holds `<lock>.break`
 * may remove it, and it checks again that the lock is still stale first (a fresh lock can
 * only appear after the stale one is gone, which only the breaker does).
 */
function breakStale(dir: Dir, lock: string, now: () => number): void {
  const breaker = `${lock}.break`;
  if (!dir.createExclusive(breaker, new Uint8Array(0))) {
    const st = dir.stat(breaker);
    // A breaker killed mid-break leaves this behind; it is never held for more than a moment.
    if (st && now() - st.mtimeMs > 4 * STALE_MS) dir.remove(breaker);
    return;
  }
  try {
    const st = dir.stat(lock);
    if (st && now() - st.mtimeMs > STALE_MS) dir.remove(lock);
  } finally {
    dir.remove(breaker);
  }
}
