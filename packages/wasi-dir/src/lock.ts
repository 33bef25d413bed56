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
/**
 * Tries at once before the first sleep. A holder keeps a lock for a few file calls (an append
 * lock ~0.25 ms under wasmtime serve), while a sleep lasts at least a millisecond and, on
 * wasmtime serve's busy worker threads, often several: with sleeps alone an append waited
 * ~3 ms on average for a lock that was free 70% of that time. Twenty tries (~0.5 ms) catch most
 * releases; a lock held longer (another process, a stale lock) is still waited for asleep.
 */
export const SPIN_TRIES = 20;

export function withLock<T>(dir: Dir, path: string, now: () => number, fn: () => T): T {
  const lock = `${path}.lock`;
  const start = now();
  const empty = new Uint8Array(0);
  let waitMs = 1;
  for (let tries = 1; !dir.createExclusive(lock, empty); tries++) {
    if (tries <= SPIN_TRIES) continue;
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
 * Run `fn` holding the locks of every path, taken one at a time in sorted order (so two callers
 * locking overlapping sets cannot each hold what the other waits for). Keep the set small: the
 * first lock ages while the rest are taken and `fn` runs, and a lock older than STALE_MS is
 * broken by its waiters.
 */
export function withLocks<T>(dir: Dir, paths: readonly string[], now: () => number, fn: () => T): T {
  const sorted = [...new Set(paths)].sort();
  const from = (i: number): T => (i === sorted.length ? fn() : withLock(dir, sorted[i], now, () => from(i + 1)));
  return from(0);
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
