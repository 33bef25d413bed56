// Durable key-value store: one checksummed file per key under `kv/`, created atomically
// (temp file, fsync, rename) and updated in place in the slot not holding the newest record
// (one write, one fdatasync: record.ts). A get opens exactly one file, so a fresh instance per request
// (wasmtime serve's default) pays no start-up scan. Every write is stamped with a hybrid
// logical clock; versions that arrive from other nodes (`apply`) go through conflict
// resolution, and deletes are tombstones so they replicate too.
import { withLock, withLocks, type Dir, type FileWrite } from "@keel/wasi-dir";
import { storageError, isStorageError, type StorageError } from "./errors.ts";
import { checkKey, fileName, keyFileName, keyHex, keyOfName } from "./keys.ts";
import { decodeFile, encodeRecord, isSlotted, slotBytes, slottedFile, MAX_SLOTTED_RECORD, SLOT_HEADER, type Part, type Origin, type Slots, type StoredValue } from "./record.ts";
import { encodeUtf8, decodeUtf8, fromHex } from "@keel/bytes";
import { KeyIndex } from "./key-index.ts";
import {
  applyRemote, asVersion, byStampDesc, formatHlc, parseHlc, stampOf, tick, MAX_REPLACED,
  type ApplyOutcome, type Resolution, type Strategy, type Version, witErrorText,
} from "@keel/model";

export interface Entry {
  key: string;
  value: Uint8Array;
  version: string;
  /** Every live version when keep-both holds siblings (empty otherwise). */
  siblings: Part[];
}

export interface Page {
  entries: Entry[];
  nextCursor: string | undefined;
}

export type Fallback = (local: Version, remote: Version) => Resolution;

/** Decides conflicts: the conflict component (or its logic, in tests). */
export interface Resolver {
  strategyFor(key: string): Strategy;
  resolve(key: string, local: Version, remote: Version): Resolution;
}

export interface KvOptions {
  /** Largest value accepted, in bytes. */
  maxValueBytes: number;
  /** Wall clock in ms. */
  now: () => number;
  /** This node's id, in every version it stamps. */
  node: string;
  /** This node's role: the origin of its writes. */
  origin: Origin;
  /** Record reads in the file's access time (lru eviction), at most once a minute per key. */
  touchReads?: boolean;
  resolver?: Resolver;
  /** The fallback strategy's decision, for when a merge plug-in keeps trapping. */
  fallback?: Fallback;
  /**
   * Called under the keys' locks just before changes are written (local writes, and applied
   * versions that change a key), once for all the changes a call makes: the sync outbox entries
   * go in first, so no write that is acknowledged can miss the outbox.
   */
  beforeChange?: (changes: Change[]) => void;
}

/** A change about to be written to a key, for `beforeChange`. */
export interface Change {
  key: string;
  version: string;
  /** Written on this node (not applied from another). */
  local: boolean;
}

/** A version from another node and the key it is for (`applyMany`). */
export interface KeyedVersion {
  key: string;
  remote: RemoteVersion;
}

/**
 * Keys whose applied versions are written together: under all their locks, one flush of the
 * change feed, of the key index and of the directory. Small, since the first lock ages (STALE_MS)
 * while the rest are written: each key still pays its own file's fdatasync.
 */
const APPLY_GROUP = 16;

/** A version from another node, for `apply`. */
export interface RemoteVersion extends Part {
  /** Versions it superseded on its node (resolving siblings). */
  replaces: string[];
}

export type { ApplyOutcome };

/** What a conflict resolution did, for the conflict log. */
export interface ConflictRecord {
  key: string;
  local: { version: string; origin: Origin; deleted: boolean; bytes: number };
  remote: { version: string; origin: Origin; deleted: boolean; bytes: number };
  outcome: ApplyOutcome;
  strategy: Strategy;
  fallbackReason: string | null;
}

/** A value file, for eviction. */
export interface KvFile {
  path: string;
  size: number;
  mtimeMs: number;
  atimeMs: number;
}

export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;
const DEFAULT_OPTIONS: KvOptions = { maxValueBytes: DEFAULT_MAX_VALUE_BYTES, now: () => Date.now(), node: "edge-local", origin: "edge" };
const KV_DIR = "kv";
const PENDING_DIR = "state/pending";
const MAX_SCAN_LIMIT = 1000;
const TOUCH_EVERY_MS = 60_000;

const summary = (p: Part) => ({ version: p.version, origin: p.origin, deleted: p.value === null, bytes: p.value?.length ?? 0 });

export class Kv {
  private readonly dir: Dir;
  private readonly opts: KvOptions;
  /** Which keys exist, in order, for scans (key-index.ts). */
  readonly index: KeyIndex;

  constructor(dir: Dir, opts: Partial<KvOptions> = {}) {
    this.dir = dir;
    this.opts = { ...DEFAULT_OPTIONS, ...opts };
    this.index = new KeyIndex(dir, this.opts.now, () => this.listKeys().map(keyHex));
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
    return entryOf(stored);
  }

  /** Write a value; with `ifMatch`, only if it equals a current version (`*`: any). */
  put(key: string, value: Uint8Array, ifMatch?: string): string {
    if (value.length > this.opts.maxValueBytes) {
      throw storageError("too-large", `value is ${value.length} bytes; the limit is ${this.opts.maxValueBytes}`);
    }
    return this.writeLocal(key, value, ifMatch);
  }

  /** Delete by writing a tombstone (so the delete replicates); false when there was no value. */
  delete(key: string, ifMatch?: string): boolean {
    let existed = false;
    this.writeLocal(key, null, ifMatch, (cur) => {
      existed = !!cur && cur.parts.some((p) => p.value !== null);
      return existed;
    });
    return existed;
  }

  /**
   * Apply a version written on another node: store it, or resolve it against the local one
   * with the key's strategy. Idempotent: a version seen before changes nothing.
   */
  apply(key: string, remote: RemoteVersion, log: (c: ConflictRecord) => void = () => {}): ApplyOutcome {
    return this.applyMany([{ key, remote }], log)[0];
  }

  /**
   * Apply versions from other nodes, in order (a key may come more than once: siblings), each
   * as `apply` would; the outcomes in the same order. Every version is checked before anything
   * is written. Groups of APPLY_GROUP versions are written under their keys' locks, sharing the
   * flushes of the change feed, the key index and the kv directory; each key's file is written
   * once per group and fdatasynced. Nothing is acknowledged before all of it is on disk.
   */
  applyMany(versions: KeyedVersion[], log: (c: ConflictRecord) => void = () => {}): ApplyOutcome[] {
    // Each key's file name once (it checks the key; a long key's is a SHA-256 in QuickJS).
    const paths = versions.map(({ key }) => this.pathOf(key));
    for (const { remote } of versions) {
      if (!parseHlc(remote.version)) throw storageError("invalid-key", `version ${JSON.stringify(remote.version.slice(0, 80))} is not <wall-ms>.<counter>.<node>`);
      if (remote.value && remote.value.length > this.opts.maxValueBytes) throw storageError("too-large", `value is ${remote.value.length} bytes; the limit is ${this.opts.maxValueBytes}`);
    }
    if (versions.length) this.dir.mkdirp(KV_DIR);
    const outcomes: ApplyOutcome[] = [];
    for (let i = 0; i < versions.length; i += APPLY_GROUP) outcomes.push(...this.applyGroup(versions.slice(i, i + APPLY_GROUP), paths.slice(i, i + APPLY_GROUP), log));
    return outcomes;
  }

  /** `paths[i]` is the file of `versions[i]`'s key. */
  private applyGroup(versions: KeyedVersion[], paths: string[], log: (c: ConflictRecord) => void): ApplyOutcome[] {
    return withLocks(this.dir, paths, this.opts.now, () => {
      const now = this.opts.now();
      const keys = new Map<string, { key: string; slots: Slots | null; cur: StoredValue | null; isNew: boolean; changed: boolean }>();
      const changes: Change[] = [];
      const outcomes = versions.map(({ key, remote }, i): ApplyOutcome => {
        const path = paths[i];
        let k = keys.get(path);
        if (!k) {
          const file = this.readFile(path, true);
          k = { key, slots: file?.slots ?? null, cur: file?.stored ?? null, isNew: !file, changed: false };
          keys.set(path, k);
        }
        const next = applyRemote(k.cur, remote, (local) => {
          const resolver = this.opts.resolver;
          if (!resolver) throw storageError("other", "no conflict resolver is configured");
          return this.resolveGuarded(key, resolver, local, remote);
        });
        if (!next) return "duplicate";
        if (next.outcome !== "kept-local") changes.push({ key, version: next.parts[0].version, local: false });
        k.cur = { key, writtenAt: now, parts: next.parts, replaced: next.replaced };
        k.changed = true;
        const c = next.conflict;
        if (c) log({ key, local: summary(c.local), remote: summary(remote), outcome: next.outcome, strategy: c.resolution.strategy, fallbackReason: c.resolution.fallbackReason });
        return next.outcome;
      });
      if (changes.length) this.opts.beforeChange?.(changes);
      this.index.add(...[...keys.values()].filter((k) => k.isNew && k.changed).map((k) => keyHex(k.key)));
      // Every changed key's file written, then all flushed together (Dir.writeFiles).
      const files = [...keys].filter(([, k]) => k.changed).map(([path, k]) => this.fileFor(path, k.cur!, k.slots));
      if (this.dir.writeFiles(files)) this.dir.syncDir(KV_DIR);
      return outcomes;
    });
  }

  /**
   * Resolve, containing a merge plug-in that traps. A trap cannot be caught inside one
   * composed component (it ends the request), so before asking a `custom` strategy we leave
   * a marker; a marker found on entry means an earlier attempt died there. The first time the
   * plug-in is tried again (the death may have been a crash); the second time the fallback
   * strategy decides without it.
   */
  private resolveGuarded(key: string, resolver: Resolver, local: Part, remote: RemoteVersion): Resolution {
    const strategy = resolver.strategyFor(key);
    if (strategy !== "custom") return resolver.resolve(key, asVersion(local), asVersion(remote));
    const marker = `${PENDING_DIR}/${keyFileName(key)}`;
    const prior = this.dir.read(marker);
    const attempts = prior ? Number(decodeUtf8(prior).split(" ")[1]) || 0 : 0;
    const same = prior ? decodeUtf8(prior).split(" ")[0] === remote.version : false;
    if (same && attempts >= 2 && this.opts.fallback) {
      this.dir.remove(marker);
      const fb = this.opts.fallback(asVersion(local), asVersion(remote));
      return { ...fb, fallbackReason: `merge plug-in failed ${attempts} times on this version (trapped or was killed)` };
    }
    this.dir.mkdirp(PENDING_DIR);
    this.dir.writeAtomic(marker, encodeUtf8(`${remote.version} ${same ? attempts + 1 : 1}`));
    const res = resolver.resolve(key, asVersion(local), asVersion(remote));
    this.dir.remove(marker);
    return res;
  }

  /** Every part of a key's record (tombstones and siblings too), or null; for sync. */
  record(key: string): StoredValue | null {
    const stored = this.readAt(this.pathOf(key), true);
    return stored && stored.key === key ? stored : null;
  }

  /**
   * The record as `record` gives it, read under the key's lock. NOTE: a write appends its
   * change-feed entry before it writes the value, both under this lock; a replicator that sees
   * the entry and reads without the lock can catch the key before its new version lands (a new
   * key looks absent) and move its cursor past a change it never shipped.
   */
  settledRecord(key: string): StoredValue | null {
    const path = this.pathOf(key);
    this.dir.mkdirp(KV_DIR);
    return withLock(this.dir, path, this.opts.now, () => {
      const stored = this.readAt(path, true);
      return stored && stored.key === key ? stored : null;
    });
  }

  /**
   * Keys starting with `prefix`, in key order, strictly after `cursor`. Tombstones are skipped.
   * Reads the key index from where the page starts, so a page costs O(limit), not O(keys).
   */
  scan(prefix: string, cursor: string | undefined, limit: number): Page {
    if (prefix !== "") checkKey(prefix, "prefix");
    if (cursor !== undefined) checkKey(cursor, "cursor");
    const max = Math.max(1, Math.min(limit || 100, MAX_SCAN_LIMIT));
    const entries: Entry[] = [];
    let last: string | undefined;
    const names = this.index.range(keyHex(prefix), cursor === undefined ? undefined : keyHex(cursor));
    for (let n = names.next(); !n.done; n = names.next()) {
      if (entries.length >= max) {
        names.return(undefined);
        return { entries, nextCursor: last };
      }
      const key = decodeUtf8(fromHex(n.value));
      last = key;
      const stored = this.readAt(this.pathOf(key), true);
      const e = stored && stored.key === key ? entryOf(stored) : null;
      if (e) entries.push(e);
    }
    return { entries, nextCursor: undefined };
  }

  /** Every key with a value file (tombstones too): lists the kv directory, O(keys). */
  listKeys(): string[] {
    const out: string[] = [];
    for (const name of this.dir.list(KV_DIR)) {
      if (!isValueFile(name)) continue;
      const key = keyOfName(name) ?? this.readAt(`${KV_DIR}/${name}`, true)?.key;
      if (key !== undefined) out.push(key);
    }
    return out;
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
        problems.push(witErrorText(e) ?? String(e));
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

  /** Drop tombstones older than `maxAgeMs` (compaction): by then every peer has seen them. */
  dropTombstones(maxAgeMs: number): number {
    let freed = 0;
    for (const f of this.files()) {
      if (this.opts.now() - f.mtimeMs < maxAgeMs) continue;
      const stored = this.readAt(f.path, true);
      if (stored && stored.parts.every((p) => p.value === null) && this.dir.remove(f.path)) freed += f.size;
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

  private writeLocal(key: string, value: Uint8Array | null, ifMatch: string | undefined, proceed: (cur: StoredValue | null) => boolean = () => true): string {
    const path = this.pathOf(key);
    this.dir.mkdirp(KV_DIR);
    // NOTE: other instances may write the same key at the same moment; the lock makes
    // read-version → compare → replace one step, so compare-and-set and versions stay exact.
    return withLock(this.dir, path, this.opts.now, () => {
      const file = this.readFile(path, true);
      const cur = file?.stored ?? null;
      checkMatch(ifMatch, cur);
      if (!proceed(cur)) return "";
      const parts = cur?.parts ?? [];
      const newest = parts.length ? stampOf([...parts].sort(byStampDesc)[0]) : null;
      const version = formatHlc(tick(this.opts.node, newest, this.opts.now()));
      // A local write supersedes every version it saw (this is how it resolves siblings).
      const replaced = [...(cur?.replaced ?? []), ...parts.map((p) => p.version)].slice(-MAX_REPLACED);
      this.opts.beforeChange?.([{ key, version, local: true }]);
      if (!cur) this.index.add(keyHex(key));
      this.write(path, { key, writtenAt: this.opts.now(), parts: [{ version, origin: this.opts.origin, value }], replaced }, file?.slots ?? null);
      return version;
    });
  }

  /**
   * Write a key's record under its lock. `slots`: where the file read under the same lock keeps
   * its newest record (null: no slotted file). The next record goes into the other slot in place
   * when it fits; otherwise (a new key, an older one-record file, a record that outgrew its slot,
   * or a file removed since it was read) a new file replaces the old one atomically. With
   * `durable` "file" the directory is not fsynced after a rename: true tells the caller it must.
   */
  private write(path: string, r: StoredValue, slots: Slots | null, durable: true | "file" = true): boolean {
    const f = this.fileFor(path, r, slots);
    if (f.inPlace && this.dir.overwrite(path, f.inPlace.at, f.inPlace.data)) return false;
    this.dir.writeAtomic(path, f.data(), durable);
    return true;
  }

  /** How `write` writes a key's record: in place in the other slot when it fits, else a new file. */
  private fileFor(path: string, r: StoredValue, slots: Slots | null): FileWrite {
    const record = encodeRecord(r);
    const fits = slots && record.length + 4 <= slots.capacity && slots.seq < 0xffffffff;
    return {
      path,
      data: () => (record.length > MAX_SLOTTED_RECORD ? record : slottedFile(record)),
      inPlace: fits ? { at: SLOT_HEADER + (1 - slots.active) * slots.capacity, data: slotBytes(slots.seq + 1, record) } : undefined,
    };
  }

  private pathOf(key: string): string {
    return `${KV_DIR}/${keyFileName(key)}`;
  }

  private readAt(path: string, tolerateCorrupt = false): StoredValue | null {
    return this.readFile(path, tolerateCorrupt)?.stored ?? null;
  }

  private readFile(path: string, tolerateCorrupt = false): { stored: StoredValue; slots: Slots | null } | null {
    for (let attempt = 1; ; attempt++) {
      const bytes = this.dir.read(path);
      if (!bytes) return null;
      try {
        return decodeFile(bytes, path);
      } catch (e) {
        // A writer only ever rewrites the slot without the newest record, so a read finds both
        // slots torn only when two updates ran during it: read again.
        if (attempt < 3 && isSlotted(bytes)) continue;
        // A corrupt file is reported on reads; writers replace it rather than fail forever.
        if (tolerateCorrupt && isStorageError(e) && (e as StorageError).tag === "corrupt") return null;
        throw e;
      }
    }
  }
}

/** The entry a read returns: the newest live version, with siblings when there are several. */
function entryOf(stored: StoredValue): Entry | null {
  const live = stored.parts.filter((p) => p.value !== null).sort(byStampDesc);
  if (!live.length) return null;
  return { key: stored.key, value: live[0].value!, version: live[0].version, siblings: stored.parts.length > 1 ? [...stored.parts].sort(byStampDesc) : [] };
}


/** Value files are named by hex or `~`+hash; everything else in kv/ is a temp or lock file. */
function isValueFile(name: string): boolean {
  return /^(~?[0-9a-f]+)$/.test(name);
}

function checkMatch(ifMatch: string | undefined, cur: StoredValue | null): void {
  if (ifMatch === undefined) return;
  const live = cur?.parts.filter((p) => p.value !== null) ?? [];
  // As in HTTP: `*` matches any current value; otherwise any current version (a sibling too).
  const ok = ifMatch === "*" ? live.length > 0 : live.some((p) => p.version === ifMatch);
  if (!ok) throw storageError("version-mismatch", `expected version ${ifMatch}, found ${live.map((p) => p.version).join(", ") || "none"}`);
}
