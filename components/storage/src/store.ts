// The whole data dir: KV + topic logs, usage against [storage] limits, eviction, verify and
// compaction. Limits are enforced on every write from a usage figure recounted at most once a
// second — or, on a store whose recount takes longer than 50 ms, once every 20 recount-times —
// shared through `state/usage` and charged by every write in between, so the limit is soft by
// what writes racing each other's charges add.
import { withLock, STALE_MS, type Dir } from "@keel/wasi-dir";
import { storageError } from "./errors.ts";
import { Kv, type ApplyOutcome, type Change, type ConflictRecord, type Fallback, type KeyedVersion, type RemoteVersion, type Resolver } from "./kv.ts";
import { TopicLog, type Appended } from "./log.ts";
import { Counters } from "./counters.ts";
import { RequestLog } from "./request-log.ts";
import type { StorageSettings } from "./settings.ts";
import { encodeUtf8, decodeUtf8, packedSize } from "@keel/bytes";
import { FEED_TOPIC, KEY_FEED, MESH_TOPIC, Replication, queueLags, readCursor, type QueueLag } from "./replication.ts";

export interface Usage {
  usedBytes: number;
  maxBytes: number;
  keys: number;
  topics: number;
  kvBytes: number;
  logBytes: number;
}

/** Where a storage event is reported (stderr of the component, a test's array, …). */
export type LogSink = (line: Record<string, unknown>) => void;

const USAGE_FILE = "state/usage";
/** state/usage: bytes in use as of `at` (ms), from a recount that took `took` ms, plus charges since. */
interface UsageFigure {
  bytes: number;
  at: number;
  took: number;
}
const USAGE_TTL_MS = 1000;
/**
 * A recount lists the data dir and stats every file: O(keys), seconds at 10⁶ keys. It is
 * trusted for this many times as long as the last recount took (at least USAGE_TTL_MS), so
 * recounting costs at most ~5% of a node's time however big its store; writes in between are
 * charged to it as they happen.
 */
const RECOUNT_EVERY = 20;
/** An instance adds its charges to the shared figure once they reach this share of max_bytes… */
const CHARGE_FLUSH_SHARE = 0.01;
/** …or are this old. */
const CHARGE_FLUSH_MS = 250;
/** Evict down to this share of max_bytes, so eviction does not run on every write. */
const EVICT_TO = 0.9;

interface Candidate {
  kind: "kv" | "segment";
  path: string;
  size: number;
  mtimeMs: number;
  atimeMs: number;
  priority: number;
  topic?: string;
}

export class Store {
  readonly kv: Kv;
  readonly log: TopicLog;
  readonly counters: Counters;
  /** This instance's request counts for /_keel/metrics (request-log.ts). */
  readonly requests: RequestLog;
  readonly settings: StorageSettings;
  private readonly dir: Dir;
  private readonly now: () => number;
  private readonly sink: LogSink;
  /** Bytes this instance wrote and has not yet added to the shared usage figure (charge). */
  private pending = 0;
  private pendingSince = 0;

  /** Every conflict resolution, as JSON records (read at /_keel/conflicts). */
  readonly conflictLog: TopicLog;
  /** The key change feed: one `{"k", "v"}` record per change to a key under a replicated prefix. */
  readonly outbox: TopicLog;
  /** Changes for other nodes, read and acknowledged past cursors (keel:storage/replication). */
  readonly replication: Replication;

  /**
   * `instanceId` names this instance's own request-count file: the component gives one from
   * wasi:random (QuickJS's Math.random starts from the same state in every instance, so two
   * instances started in the same millisecond shared a file and overwrote each other's counts).
   */
  constructor(dir: Dir, settings: StorageSettings, now: () => number = () => Date.now(), sink: LogSink = () => {}, conflicts?: { resolver: Resolver; fallback: Fallback }, instanceId = `${now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`) {
    this.dir = dir;
    this.settings = settings;
    this.now = now;
    this.sink = sink;
    this.counters = new Counters(dir, now);
    this.requests = new RequestLog(dir, this.counters, now, instanceId, { foldOnFirstRequest: !settings.instanceLivesWithHost });
    this.outbox = new TopicLog(dir, { ...settings, retention: { maxAgeSeconds: 0, maxBytesPerTopic: 0 } }, now, "system");
    this.kv = new Kv(dir, {
      maxValueBytes: settings.maxValueBytes, now, touchReads: settings.eviction === "lru",
      node: settings.node, origin: settings.origin, resolver: conflicts?.resolver, fallback: conflicts?.fallback,
      // NOTE: an edge queues its own writes; the cloud also queues versions applied from edges,
      // so other edges pull them. Versions an edge pulls are never queued back.
      // The mesh feed takes every change to a meshed key, local or applied from elsewhere: a
      // node passes on what it learnt, so a change reaches nodes its writer cannot reach.
      beforeChange: (changes) => {
        const entry = (c: Change) => encodeUtf8(JSON.stringify({ k: c.key, v: c.version }));
        const synced = changes.filter((c) => (c.local || settings.origin === "cloud") && this.synced(c.key));
        const meshed = changes.filter((c) => this.meshed(c.key));
        if (synced.length) this.outbox.append(FEED_TOPIC, synced.map(entry));
        if (meshed.length) this.outbox.append(MESH_TOPIC, meshed.map(entry));
      },
    });
    this.log = new TopicLog(dir, settings, now);
    this.replication = new Replication(dir, this.kv, this.log, this.outbox);
    this.conflictLog = new TopicLog(dir, { ...settings, retention: { maxAgeSeconds: 0, maxBytesPerTopic: 16 * 1024 * 1024 } }, now, "system");
  }

  /** Apply a version from another node through conflict resolution; conflicts are logged and counted. */
  apply(key: string, remote: RemoteVersion): ApplyOutcome {
    return this.applyMany([{ key, remote }])[0];
  }

  /** Apply versions from other nodes, together (kv.ts applyMany); the outcomes in order. */
  applyMany(versions: KeyedVersion[]): ApplyOutcome[] {
    this.ensureRoom(versions.reduce((n, { key, remote }) => n + (remote.value?.length ?? 0) + key.length + 128, 0));
    const records: ConflictRecord[] = [];
    const outcomes = this.kv.applyMany(versions, (c) => records.push(c));
    if (records.length) {
      this.conflictLog.append("conflicts", records.map((r) => encodeUtf8(JSON.stringify({ at: this.now(), ...r }))));
      this.counters.add("keel_conflict_resolutions_total", records.length);
    }
    // One counter write (a locked, fsynced file) for all of them, not one per fallback.
    const fallbacks = records.filter((r) => r.fallbackReason);
    this.counters.add("keel_conflict_fallbacks_total", fallbacks.length);
    for (const r of fallbacks) this.sink({ level: "warn", msg: "conflict resolved by the fallback strategy", key: r.key, reason: r.fallbackReason, strategy: r.strategy });
    return outcomes;
  }

  /** Is `key` under a prefix the mesh replicates? */
  meshed(key: string): boolean {
    return this.settings.meshPrefixes.some((p) => key.startsWith(p));
  }

  /** Is `key` under a prefix this node sends? */
  synced(key: string): boolean {
    return this.settings.syncedPrefixes.some((p) => key.startsWith(p));
  }

  /** Records queued for sync, per topic and for the key outbox (`@outbox`). */
  queueDepth(): QueueLag[] {
    return queueLags(this.dir, this.log, this.outbox, this.settings.syncedTopics, this.settings.syncedPrefixes);
  }


  /** Refuse a synced write while the queue is at max_queue (the caller answers 503 + Retry-After). */
  private checkQueue(cursorName: string, log: TopicLog, topic: string): void {
    if (!this.settings.maxQueue) return;
    const queued = log.nextOffset(topic) - (readCursor(this.dir, cursorName) + 1);
    if (queued >= this.settings.maxQueue) {
      this.counters.add("keel_sync_backpressure_total", 1);
      throw { tag: "backpressure", val: 5 };
    }
  }

  put(key: string, value: Uint8Array, ifMatch?: string): string {
    const size = value.length + key.length + 64;
    if (this.synced(key)) this.checkQueue(KEY_FEED, this.outbox, FEED_TOPIC);
    this.ensureRoom(size);
    const v = this.kv.put(key, value, ifMatch);
    this.charge(size);
    return v;
  }

  append(topic: string, payloads: Uint8Array[]): number[] {
    return this.appendSized(topic, packedSize(payloads) + 36, () => this.log.append(topic, payloads));
  }

  /** `append` of a packed batch (TopicLog.appendPacked): the same checks, limits and charge. */
  appendPacked(topic: string, packed: Uint8Array): Appended {
    return this.appendSized(topic, packed.length + 36, () => this.log.appendPacked(topic, packed));
  }

  private appendSized<T>(topic: string, size: number, write: () => T): T {
    if (this.settings.syncedTopics.includes(topic)) this.checkQueue(topic, this.log, topic);
    this.ensureRoom(size);
    const offsets = write();
    this.charge(size);
    return offsets;
  }

  /**
   * Add a write to the cached usage so writes between recounts are seen. This instance's
   * charges are added to the shared figure in batches — once they reach 1% of max_bytes or are
   * CHARGE_FLUSH_MS old — not one file replacement per write (that cost a write ~25–35% of its
   * throughput); its own checks count them at once. Best effort: two instances charging at once
   * may lose one batch, and an instance dropped by the host loses its last; the next recount
   * puts both right.
   */
  private charge(bytes: number): void {
    if (!this.settings.maxBytes) return;
    if (!this.pending) this.pendingSince = this.now();
    this.pending += bytes;
    if (this.pending < this.settings.maxBytes * CHARGE_FLUSH_SHARE && this.now() - this.pendingSince < CHARGE_FLUSH_MS) return;
    const u = this.readUsage();
    const pending = this.pending;
    this.pending = 0;
    // No readable figure: the next check recounts.
    if (u) this.writeUsage({ ...u, bytes: u.bytes + pending });
  }

  /** The shared usage figure (state/usage); null when there is none or it is damaged. */
  private readUsage(): UsageFigure | null {
    const raw = this.dir.read(USAGE_FILE);
    if (!raw) return null;
    try {
      const u = JSON.parse(decodeUtf8(raw)) as UsageFigure;
      return { bytes: u.bytes, at: u.at, took: Number(u.took) || 0 };
    } catch {
      return null;
    }
  }

  /** Replace the shared usage figure (atomic, not fsynced: a cache the next recount rebuilds). */
  private writeUsage(u: UsageFigure): void {
    this.dir.writeAtomic(USAGE_FILE, encodeUtf8(JSON.stringify(u)), false);
  }

  /** Exact usage: lists the data dir. For /_keel/resources and the limit check's recount. */
  usage(): Usage {
    const kv = this.kv.usage();
    let logBytes = 0;
    const topics = this.log.topics();
    for (const t of topics) for (const s of this.log.segments(t)) logBytes += s.size;
    return { usedBytes: kv.bytes + logBytes, maxBytes: this.settings.maxBytes, keys: kv.keys, topics: topics.length, kvBytes: kv.bytes, logBytes };
  }

  /** Refuse or make room for `incoming` bytes under max_bytes, per the eviction policy. */
  ensureRoom(incoming: number): void {
    const max = this.settings.maxBytes;
    if (!max) return;
    let used = this.cachedUsage();
    if (used + incoming <= max) return;
    // NOTE: one evictor at a time across instances; the others wait, then re-read usage.
    withLock(this.dir, "state/evict", this.now, () => {
      used = this.recount();
      if (used + incoming <= max) return;
      if (this.settings.eviction === "compact") {
        this.compact();
        used = this.recount();
      } else {
        used = this.evict(used, Math.floor(max * EVICT_TO) - incoming);
      }
    });
    if (used + incoming > max) {
      this.counters.add("keel_storage_writes_refused_full_total", 1);
      throw storageError("full", `storage is at ${used} of ${max} bytes and eviction (${this.settings.eviction}) cannot free ${incoming} more`);
    }
  }

  /** Check every checksum in the data dir; one line per problem. */
  verify(): string[] {
    const problems = this.kv.verify();
    for (const t of this.log.topics()) problems.push(...this.log.verify(t));
    return problems;
  }

  /**
   * Reclaim dead space: temp files and locks left by killed writers, torn log tails, and
   * segments past retention. Crash-safe (each step is one unlink or an idempotent truncate)
   * and takes no lock readers wait on.
   */
  compact(): number {
    let freed = this.kv.removeOrphans(STALE_MS) + this.kv.dropTombstones(this.settings.tombstoneTtlSeconds * 1000);
    // The key index forgets keys whose files are gone (dropped tombstones, evicted keys).
    this.kv.index.rebuild();
    for (const t of this.log.topics()) {
      freed += this.log.applyRetention(t);
      freed += this.log.repairTail(t);
    }
    this.counters.add("keel_storage_compactions_total", 1);
    this.counters.add("keel_storage_compacted_bytes_total", freed);
    return freed;
  }

  private cachedUsage(): number {
    // A missing or damaged figure is just recounted.
    const u = this.readUsage();
    if (u) {
      const ttl = Math.max(USAGE_TTL_MS, RECOUNT_EVERY * u.took);
      if (this.now() - u.at < ttl && this.now() >= u.at) return u.bytes + this.pending;
    }
    return this.recount();
  }

  private recount(): number {
    const start = this.now();
    // The listing sees what this instance wrote: its batch of charges is in the count.
    this.pending = 0;
    const bytes = this.usage().usedBytes;
    const at = this.now();
    this.dir.mkdirp("state");
    this.writeUsage({ bytes, at, took: Math.max(0, at - start) });
    return bytes;
  }

  private candidates(): Candidate[] {
    const out: Candidate[] = [];
    const prio = this.settings.priorities;
    for (const f of this.kv.files()) out.push({ kind: "kv", ...f, priority: prio.kv ?? 0 });
    for (const topic of this.log.topics()) {
      const segs = this.log.segments(topic);
      // The newest segment takes appends; it is never evicted.
      for (const s of segs.slice(0, -1)) {
        const path = `logs/${topic}/${s.name}`;
        const st = this.dir.stat(path);
        if (st) out.push({ kind: "segment", path, size: s.size, mtimeMs: st.mtimeMs, atimeMs: st.mtimeMs, priority: prio[topic] ?? 0, topic });
      }
    }
    const policy = this.settings.eviction;
    const age = (c: Candidate) => (policy === "lru" ? c.atimeMs : c.mtimeMs);
    out.sort((a, b) => (policy === "priority" && a.priority !== b.priority ? a.priority - b.priority : age(a) - age(b)));
    return out;
  }

  private evict(used: number, target: number): number {
    let evictedKeys = 0;
    for (const c of this.candidates()) {
      if (used <= target) break;
      if (c.kind === "segment") {
        const topic = c.topic!;
        const segs = this.log.segments(topic);
        const i = segs.findIndex((s) => `logs/${topic}/${s.name}` === c.path);
        if (i < 0 || i === segs.length - 1) continue;
        const last = segs[i + 1].base - 1;
        if (this.settings.syncedTopics.includes(topic)) {
          const cursor = readCursor(this.dir, topic);
          if (last > cursor) {
            const unsynced = last - Math.max(cursor, segs[i].base - 1);
            this.counters.add("keel_storage_evicted_unsynced_records_total", unsynced);
            this.sink({ level: "warn", msg: "evicted unsynced records", topic, from: Math.max(cursor + 1, segs[i].base), to: last, records: unsynced });
          }
        }
        this.dir.remove(c.path);
        this.counters.add("keel_storage_evicted_segments_total", 1);
      } else {
        if (!this.dir.remove(c.path)) continue;
        evictedKeys++;
      }
      this.counters.add("keel_storage_evicted_bytes_total", c.size);
      used -= c.size;
    }
    if (evictedKeys) {
      this.counters.add("keel_storage_evicted_keys_total", evictedKeys);
      this.sink({ level: "info", msg: "evicted keys", keys: evictedKeys, policy: this.settings.eviction });
    }
    this.writeUsage({ bytes: Math.max(0, used), at: this.now(), took: 0 });
    return used;
  }

}
