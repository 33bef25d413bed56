// Durable key-value store: one checksummed file per key under `kv/`, replaced atomically
// (temp file, fsync, rename). A get opens exactly one file, so a fresh instance per request
// (wasmtime serve's default) pays no start-up scan.
import type { Dir } from "./dir.ts";
import { storageError, isStorageError, type StorageError } from "./errors.ts";
import { checkKey, fileName, keyOfName } from "./keys.ts";
import { encodeUtf8 } from "./utf8.ts";
import { encodeRecord, decodeRecord } from "./record.ts";
import { nextVersion } from "./version.ts";
import { withLock } from "./lock.ts";

export interface Entry {
  key: string;
  value: Uint8Array;
  version: string;
}

export interface Page {
  entries: Entry[];
  nextCursor: string | undefined;
}

export interface KvOptions {
  /** Largest value accepted, in bytes. */
  maxValueBytes: number;
  /** Wall clock in ms. */
  now: () => number;
  /** Record reads in the file's access time (lru eviction), at most once a minute per key. */
  touchReads?: boolean;
}

/** A value file, for eviction. */
export interface KvFile {
  path: string;
  size: number;
  mtimeMs: number;
  atimeMs: number;
}

const TOUCH_EVERY_MS = 60_000;

export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;
const KV_DIR = "kv";
const MAX_SCAN_LIMIT = 1000;

export class Kv {
  private readonly dir: Dir;
  private readonly opts: KvOptions;

  constructor(dir: Dir, opts: KvOptions = { maxValueBytes: DEFAULT_MAX_VALUE_BYTES, now: () => Date.now() }) {
    this.dir = dir;
    this.opts = opts;
  }

  get(key: string): Entry | null {
    const path = this.pathOf(key);
    const stored = this.readAt(path);
    if (!stored) return null;
    if (stored.key !== key) throw storageError("corrupt", `${path}: holds key ${JSON.stringify(stored.key)}`);
    if (this.opts.touchReads) {
      const st = this.dir.stat(path);
      if (st && this.opts.now() - st.atimeMs > TOUCH_EVERY_MS) this.dir.touch(path);
    }
    return { key, value: stored.value, version: stored.version };
  }

  put(key: string, value: Uint8Array, ifMatch?: string): string {
    const path = this.pathOf(key);
    if (value.length > this.opts.maxValueBytes) {
      throw storageError("too-large", `value is ${value.length} bytes; the limit is ${this.opts.maxValueBytes}`);
    }
    this.dir.mkdirp(KV_DIR);
    // NOTE: other instances may write the same key at the same moment; the lock makes
    // read-version → compare → replace one step, so compare-and-set and versions stay exact.
    return withLock(this.dir, path, this.opts.now, () => {
      const current = this.readAt(path, true);
      checkMatch(ifMatch, current?.version ?? null);
      const version = nextVersion(current?.version ?? null, this.opts.now());
      this.dir.writeAtomic(path, encodeRecord({ key, version, writtenAt: this.opts.now(), value }));
      return version;
    });
  }

  delete(key: string, ifMatch?: string): boolean {
    const path = this.pathOf(key);
    return withLock(this.dir, path, this.opts.now, () => {
      const current = this.readAt(path, true);
      checkMatch(ifMatch, current?.version ?? null);
      return this.dir.remove(path);
    });
  }

  /** Keys starting with `prefix`, in key order, strictly after `cursor`. */
  scan(prefix: string, cursor: string | undefined, limit: number): Page {
    if (prefix !== "") checkKey(prefix, "prefix");
    if (cursor !== undefined) checkKey(cursor, "cursor");
    const max = Math.max(1, Math.min(limit || 100, MAX_SCAN_LIMIT));
    const keys: { key: string; path: string }[] = [];
    for (const name of this.dir.list(KV_DIR)) {
      if (!isValueFile(name)) continue;
      const path = `${KV_DIR}/${name}`;
      let key = keyOfName(name);
      if (key === null) {
        const stored = this.readAt(path, true);
        if (!stored) continue;
        key = stored.key;
      }
      if (key.startsWith(prefix) && (cursor === undefined || key > cursor)) keys.push({ key, path });
    }
    keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const entries: Entry[] = [];
    for (const k of keys) {
      if (entries.length === max) break;
      const stored = this.readAt(k.path, true);
      if (stored) entries.push({ key: k.key, value: stored.value, version: stored.version });
    }
    const more = keys.length > entries.length && entries.length === max;
    return { entries, nextCursor: more ? entries[entries.length - 1].key : undefined };
  }

  /** Every value file with its size and times (eviction candidates). */
  files(): KvFile[] {
    const out: KvFile[] = [];
    for (const name of this.dir.list(KV_DIR)) {
      if (!isValueFile(name)) continue;
      const path = `${KV_DIR}/${name}`;
      const st = this.dir.stat(path);
      if (st) out.push({ path, ...st });
    }
    return out;
  }

  /** Check every value file's checksum and that it holds the key its name says. */
  verify(): string[] {
    const problems: string[] = [];
    for (const name of this.dir.list(KV_DIR)) {
      if (!isValueFile(name)) continue;
      const path = `${KV_DIR}/${name}`;
      try {
        const stored = this.readAt(path);
        if (stored && fileName(encodeUtf8(stored.key)) !== name) problems.push(`${path}: holds key ${JSON.stringify(stored.key)}, which belongs in another file`);
      } catch (e) {
        problems.push((e as { val?: string }).val ?? String(e));
      }
    }
    return problems;
  }

  /** Remove temp files and lock files older than `staleMs` (left by killed writers). */
  removeOrphans(staleMs: number): number {
    let freed = 0;
    for (const name of this.dir.list(KV_DIR)) {
      if (!name.endsWith(".tmp") && !name.endsWith(".lock")) continue;
      const path = `${KV_DIR}/${name}`;
      const st = this.dir.stat(path);
      if (st && this.opts.now() - st.mtimeMs > staleMs && this.dir.remove(path)) freed += st.size;
    }
    return freed;
  }

  /** Live keys and the bytes their files take. Lists the kv directory: for /_keel/resources, not the request path. */
  usage(): { keys: number; bytes: number } {
    let keys = 0;
    let bytes = 0;
    for (const name of this.dir.list(KV_DIR)) {
      if (!isValueFile(name)) continue;
      const st = this.dir.stat(`${KV_DIR}/${name}`);
      if (!st) continue;
      keys++;
      bytes += st.size;
    }
    return { keys, bytes };
  }

  private pathOf(key: string): string {
    return `${KV_DIR}/${fileName(checkKey(key))}`;
  }

  private readAt(path: string, tolerateCorrupt = false) {
    const bytes = this.dir.read(path);
    if (!bytes) return null;
    try {
      return decodeRecord(bytes, path);
    } catch (e) {
      // A corrupt file is reported on reads; writers replace it rather than fail forever.
      if (tolerateCorrupt && isStorageError(e) && (e as StorageError).tag === "corrupt") return null;
      throw e;
    }
  }
}

/** Value files are named by hex or `~`+hash; everything else in kv/ is a temp or lock file. */
function isValueFile(name: string): boolean {
  return /^(~?[0-9a-f]+)$/.test(name);
}

function checkMatch(ifMatch: string | undefined, current: string | null): void {
  if (ifMatch === undefined) return;
  // As in HTTP: `*` matches any current version, so it only fails when the key is absent.
  if (ifMatch === "*" ? current === null : ifMatch !== current) {
    throw storageError("version-mismatch", `expected version ${ifMatch}, found ${current ?? "none"}`);
  }
}
