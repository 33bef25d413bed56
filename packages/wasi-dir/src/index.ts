// The data directory contract and the lock built on it. The wasi:filesystem implementation is
// `@keel/wasi-dir/wasi` and the config reader `@keel/wasi-dir/node-config` (both import WASI
// interfaces, so plain Node code and tests import only this entry; tests use `./testing`).
export type { Appender, Dir, FileStat, FileWrite } from "./dir.ts";
export { withLock, withLocks, STALE_MS, SPIN_TRIES } from "./lock.ts";
export { ioError, type IoError } from "./errors.ts";
