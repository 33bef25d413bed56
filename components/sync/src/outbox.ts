// Edge ⇄ cloud sync. The outbox is the data itself: topic logs past their acknowledged cursor,
// and `system/outbox` (one {key, version} per change to a synced key, written before the change).
// A batch carries everything after the cursors, keys collapsed to their current version (delta:
// a key written ten times since the last sync is sent once), gzip-compressed with fflate. The
// cursors move only when the cloud has answered 200, so a lost or retried batch is resent, and
// the cloud drops what it already has (per-edge topic offsets; key versions are idempotent).
import { gzipSync, gunzipSync } from "fflate";
import type { Dir } from "@keel/wasi-dir";
import { Kv } from "../../storage/src/kv.ts";
import { TopicLog } from "../../storage/src/log.ts";
import { DEFAULT_SETTINGS, outbound } from "../../storage/src/settings.ts";
import { encodeUtf8, decodeUtf8 } from "@keel/bytes";
import { toBase64, fromBase64 } from "@keel/bytes";
import { queueLags, readCursor } from "../../storage/src/sync-queue.ts";
import { checkKey } from "@keel/model";
import { parseHlc } from "@keel/model";

export interface SyncConfig {
  enabled: boolean;
  role: "edge" | "cloud";
  node: string;
  cloudUrl: string;
  token: string;
  intervalMs: number;
  batchSize: number;
  bandwidth: number;
  maxAttempts: number;
  compress: boolean;
  /** Send each key once at its current version (true), or once per change (false: for comparison). */
  delta: boolean;
  /** What this node sends. */
  topics: string[];
  prefixes: string[];
  /** Key prefixes and topics an edge pulls (cloud_to_edge, bidirectional). */
  pullPrefixes: string[];
  pullTopics: string[];
}

export class SyncError extends Error {}

/** A run marker not touched for this long belongs to a run that was cut off. */
const RUN_STALE_MS = 30_000;

/** Largest batch a node accepts, after decompression (a gzip bomb is refused before inflating). */
export const MAX_BATCH_BYTES = 32 * 1024 * 1024;

export function syncConfig(config: unknown, env: Map<string, string>): SyncConfig {
  const c = (config ?? {}) as { node?: { id?: unknown; role?: unknown }; sync?: Record<string, unknown> };
  const s = c.sync ?? {};
  const role = c.node?.role === "cloud" ? "cloud" : "edge";
  const num = (v: unknown, d: number, min: number, max: number) => (typeof v === "number" && v >= min && v <= max ? Math.floor(v) : d);
  const out = outbound(s, role);
  const pulls = outbound(s, role === "edge" ? "cloud" : "edge");
  return {
    enabled: s.enabled === true,
    role,
    node: typeof c.node?.id === "string" ? c.node.id : DEFAULT_SETTINGS.node,
    cloudUrl: typeof s.cloud_url === "string" ? s.cloud_url.replace(/\/+$/, "") : "",
    token: typeof s.token_env === "string" ? env.get(s.token_env) ?? "" : "",
    intervalMs: num(s.interval_seconds, 10, 1, 86_400) * 1000,
    batchSize: num(s.batch_size, 500, 1, 10_000),
    bandwidth: num(s.bandwidth_bytes_per_second, 0, 0, 1e12),
    maxAttempts: num(s.max_attempts, 4, 1, 20),
    compress: s.compression !== false,
    delta: s.delta !== false,
    topics: out.topics,
    prefixes: out.prefixes,
    pullPrefixes: pulls.prefixes,
    pullTopics: pulls.topics,
  };
}

interface KvItem { k: string; v: string; o: string; b: string | null; r: string[] }
interface TopicItem { t: string; r: [number, number, string][] }
interface BatchDoc { v: 1; node: string; kv: KvItem[]; topics: TopicItem[] }

export function encodeBody(doc: unknown, compress: boolean): { body: Uint8Array; raw: number } {
  const json = encodeUtf8(JSON.stringify(doc));
  return { body: compress ? gzipSync(json, { level: 6 }) : json, raw: json.length };
}

/** A batch body: gzip or plain JSON, refused when it would inflate past MAX_BATCH_BYTES. */
export function decodeBody(body: Uint8Array): unknown {
  let json = body;
  if (body.length >= 18 && body[0] === 0x1f && body[1] === 0x8b) {
    const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
    if (v.getUint32(body.length - 4, true) > MAX_BATCH_BYTES) throw new SyncError(`batch inflates past ${MAX_BATCH_BYTES} bytes`);
    try {
      json = gunzipSync(body);
    } catch {
      throw new SyncError("batch is not valid gzip");
    }
  }
  if (json.length > MAX_BATCH_BYTES) throw new SyncError(`batch is over ${MAX_BATCH_BYTES} bytes`);
  try {
    return JSON.parse(decodeUtf8(json));
  } catch {
    throw new SyncError("batch is not valid JSON");
  }
}

/** The key-value and topic operations sync needs from storage (the storage component's imports). */
export interface StorageApi {
  apply(key: string, remote: { version: string; origin: string; value: Uint8Array | null; replaces: string[] }): string;
  append(topic: string, payloads: Uint8Array[]): number[];
}

export class Sync {
  private readonly dir: Dir;
  readonly cfg: SyncConfig;
  private readonly kv: Kv;
  private readonly logs: TopicLog;
  private readonly system: TopicLog;
  private readonly storage: StorageApi;

  constructor(dir: Dir, cfg: SyncConfig, storage: StorageApi) {
    this.dir = dir;
    this.cfg = cfg;
    this.storage = storage;
    this.kv = new Kv(dir, { node: cfg.node, origin: cfg.role });
    this.logs = new TopicLog(dir);
    this.system = new TopicLog(dir, DEFAULT_SETTINGS, () => Date.now(), "system");
  }

  // ---- edge: state -------------------------------------------------------------------
  private cursor(name: string): number {
    return readCursor(this.dir, name);
  }


  private state(): { lastSyncMs: number; lastAttemptMs: number; lastError: string | null } {
    const raw = this.dir.read("sync/state");
    try {
      return raw ? JSON.parse(decodeUtf8(raw)) : { lastSyncMs: 0, lastAttemptMs: 0, lastError: null };
    } catch {
      return { lastSyncMs: 0, lastAttemptMs: 0, lastError: null };
    }
  }

  private saveState(s: { lastSyncMs: number; lastAttemptMs: number; lastError: string | null }): void {
    this.dir.mkdirp("sync");
    this.dir.writeAtomic("sync/state", encodeUtf8(JSON.stringify(s)), false);
  }

  paused(): boolean {
    return this.dir.stat("sync/paused") !== null;
  }

  pause(): void {
    this.dir.mkdirp("sync");
    this.dir.writeAtomic("sync/paused", new Uint8Array(0));
  }

  /** Resume; the next run is the operator's (`/now`) or the next interval's. */
  resume(nowMs = Date.now()): void {
    this.dir.remove("sync/paused");
    this.saveState({ ...this.state(), lastAttemptMs: nowMs });
  }

  lags(nowMs: number): { name: string; records: number; oldestSeconds: number }[] {
    return queueLags(this.dir, this.logs, this.system, this.cfg.topics, this.cfg.prefixes).map((l) => ({
      name: l.name, records: l.records, oldestSeconds: l.oldestMs ? Math.max(0, Math.floor((nowMs - l.oldestMs) / 1000)) : 0,
    }));
  }


  status(nowMs: number) {
    const s = this.state();
    return { enabled: this.cfg.enabled, role: this.cfg.role, paused: this.paused(), lastSyncMs: s.lastSyncMs, lastError: s.lastError, lags: this.cfg.enabled ? this.lags(nowMs) : [] };
  }

  /** A sync is due when this edge syncs, is not paused, the interval passed and something waits. */
  due(nowMs: number): boolean {
    if (!this.cfg.enabled || this.cfg.role !== "edge" || !this.cfg.cloudUrl || this.paused()) return false;
    if (nowMs - this.state().lastAttemptMs < this.cfg.intervalMs) return false;
    return this.lags(nowMs).some((l) => l.records > 0) || this.cfg.pullPrefixes.length > 0 || this.cfg.pullTopics.length > 0;
  }

  /**
   * One sync run per node at a time: concurrent runs (a cron's /now while a response-triggered
   * run is going) would send the same batches twice. A run killed mid-way leaves the marker; it
   * counts as released after five minutes.
   */
  tryBegin(nowMs: number): boolean {
    this.dir.mkdirp("sync");
    if (this.dir.createExclusive("sync/run.lock", new Uint8Array(0))) return true;
    const st = this.dir.stat("sync/run.lock");
    // A live run touches the marker after every batch (ack); silence means it was cut off.
    if (st && nowMs - st.mtimeMs > RUN_STALE_MS) {
      this.dir.remove("sync/run.lock");
      return this.dir.createExclusive("sync/run.lock", new Uint8Array(0));
    }
    return false;
  }

  end(): void {
    this.dir.remove("sync/run.lock");
  }

  // ---- edge: batches ------------------------------------------------------------------
  nextBatch(): { id: string; body: Uint8Array; records: number; rawBytes: number } | null {
    if (!this.cfg.enabled || this.cfg.role !== "edge") throw new SyncError("this node does not push (sync disabled or cloud role)");
    let budget = this.cfg.batchSize;
    const cursors: Record<string, number> = {};
    const doc: BatchDoc = { v: 1, node: this.cfg.node, kv: [], topics: [] };
    if (this.cfg.prefixes.length) {
      const from = this.cursor("@outbox") + 1;
      const entries = this.system.read("outbox", from, budget);
      if (entries.length) {
        cursors["@outbox"] = entries[entries.length - 1].offset;
        budget -= entries.length;
        // Delta: each key once, at its current version, however often it changed.
        const all = entries.map((e) => (JSON.parse(decodeUtf8(e.payload)) as { k: string }).k);
        const keys = this.cfg.delta ? [...new Set(all)] : all;
        for (const key of keys) {
          const rec = this.kv.record(key);
          if (!rec) continue;
          for (const p of rec.parts) doc.kv.push({ k: key, v: p.version, o: p.origin, b: p.value ? toBase64(p.value) : null, r: rec.replaced });
        }
      }
    }
    for (const topic of this.cfg.topics) {
      if (budget <= 0) break;
      const records = this.logs.read(topic, this.cursor(topic) + 1, Math.min(budget, 1000));
      if (!records.length) continue;
      cursors[topic] = records[records.length - 1].offset;
      budget -= records.length;
      doc.topics.push({ t: topic, r: records.map((r) => [r.offset, r.timestampMs, toBase64(r.payload)]) });
    }
    if (!Object.keys(cursors).length) return null;
    const { body, raw } = encodeBody(doc, this.cfg.compress);
    const records = doc.kv.length + doc.topics.reduce((a, t) => a + t.r.length, 0);
    return { id: JSON.stringify(cursors), body, records, rawBytes: raw };
  }

  ack(id: string, nowMs: number): void {
    let cursors: Record<string, number>;
    try {
      cursors = JSON.parse(id);
    } catch {
      throw new SyncError("bad batch id");
    }
    this.dir.mkdirp("sync/cursors");
    for (const [name, offset] of Object.entries(cursors)) {
      if (!/^(@outbox|[A-Za-z0-9][A-Za-z0-9._-]{0,127})$/.test(name) || !Number.isSafeInteger(offset)) throw new SyncError("bad batch id");
      // Cursors only move forward (a late ack of an older batch changes nothing).
      if (offset > this.cursor(name)) this.dir.writeAtomic(`sync/cursors/${name}`, encodeUtf8(String(offset)));
    }
    this.saveState({ ...this.state(), lastSyncMs: nowMs, lastAttemptMs: nowMs, lastError: null });
    if (this.dir.stat("sync/run.lock")) this.dir.writeAtomic("sync/run.lock", new Uint8Array(0), false); // heartbeat
  }

  fail(message: string, nowMs: number): void {
    this.saveState({ ...this.state(), lastAttemptMs: nowMs, lastError: message.slice(0, 500) });
  }

  /**
   * The next pull: the key cursor, and per pulled topic the cloud offset after the last record
   * stored here. Pulled topic records live in `<topic>--cloud` as {o: cloud offset, t, b}, so
   * the position is read from the same write as the records (a retried pull stores nothing twice).
   */
  pullQuery(): string {
    const q = [`cursor=${this.cursor("@pull") + 1}`, `max=${this.cfg.batchSize}`];
    for (const t of this.cfg.pullTopics) q.push(`t.${encodeURIComponent(t)}=${this.lastEnvelopeOffset(`${t}--cloud`) + 1}`);
    return q.join("&");
  }

  /** Apply what the cloud sent (keys through conflict resolution, topic records); returns items applied. */
  applyPulled(body: Uint8Array): number {
    const doc = decodeBody(body) as { kv?: KvItem[]; next?: number; topics?: TopicItem[] };
    const checked = (Array.isArray(doc.kv) ? doc.kv : []).map((x) => checkKvItem(x));
    const topics = (Array.isArray(doc.topics) ? doc.topics : []).map((t) => checkTopicItem(t, "cloud"));
    for (const x of checked) this.storage.apply(x.key, x.remote);
    let records = 0;
    for (const t of topics) {
      const last = this.lastEnvelopeOffset(t.target);
      const fresh = t.records.filter(([o]) => o > last);
      if (fresh.length) this.storage.append(t.target, fresh.map(([o, ts, b]) => encodeUtf8(JSON.stringify({ o, t: ts, b }))));
      records += fresh.length;
    }
    if (typeof doc.next === "number" && doc.next > 0 && doc.next - 1 > this.cursor("@pull")) {
      this.dir.mkdirp("sync/cursors");
      this.dir.writeAtomic("sync/cursors/@pull", encodeUtf8(String(doc.next - 1)));
    }
    return checked.length + records;
  }

  // ---- cloud ------------------------------------------------------------------------
  /** Accept a batch from `edge`. Idempotent: a retried batch stores nothing twice. */
  push(edge: string, body: Uint8Array): { versions: number; records: number; duplicates: number } {
    if (!this.cfg.enabled || this.cfg.role !== "cloud") throw new SyncError("this node is not a sync cloud (node.role = \"cloud\", sync.enabled)");
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(edge)) throw new SyncError("the credential carries no usable node id");
    const doc = decodeBody(body) as BatchDoc;
    if (doc?.v !== 1 || !Array.isArray(doc.kv) || !Array.isArray(doc.topics)) throw new SyncError("not a Keel sync batch");
    // Check everything before storing anything.
    const versions = doc.kv.map((x) => checkKvItem(x));
    const topics = doc.topics.map((t) => checkTopicItem(t, edge));
    for (const v of versions) this.storage.apply(v.key, v.remote);
    let records = 0;
    let duplicates = 0;
    for (const t of topics) {
      // The cloud keeps each edge's records in `<topic>--<edge>` as {o: edge offset, t, b}: the
      // last one stored says where this edge is, in the same write as the records themselves.
      const last = this.lastEnvelopeOffset(t.target);
      const fresh = t.records.filter(([o]) => o > last);
      duplicates += t.records.length - fresh.length;
      if (fresh.length) {
        this.storage.append(t.target, fresh.map(([o, ts, b]) => encodeUtf8(JSON.stringify({ o, t: ts, b }))));
        records += fresh.length;
      }
    }
    return { versions: versions.length, records, duplicates };
  }

  private lastEnvelopeOffset(topic: string): number {
    const next = this.logs.nextOffset(topic);
    if (next === 0) return -1;
    const last = this.logs.read(topic, next - 1, 1)[0];
    try {
      return last ? (JSON.parse(decodeUtf8(last.payload)) as { o: number }).o : -1;
    } catch {
      return -1;
    }
  }

  /** Key versions after `cursor` (collapsed to current versions) and records of the topics edges pull. */
  pull(cursor: number, topicCursors: { topic: string; next: number }[], max: number): Uint8Array {
    if (!this.cfg.enabled || this.cfg.role !== "cloud") throw new SyncError("this node is not a sync cloud");
    const limit = Math.max(1, Math.min(max || 500, 5000));
    const topics: TopicItem[] = [];
    for (const tc of topicCursors) {
      if (!this.cfg.topics.includes(tc.topic)) continue; // only topics the cloud sends
      const records = this.logs.read(tc.topic, tc.next, Math.min(limit, 1000));
      if (records.length) topics.push({ t: tc.topic, r: records.map((r) => [r.offset, r.timestampMs, toBase64(r.payload)]) });
    }
    const entries = this.cfg.prefixes.length ? this.system.read("outbox", cursor, limit) : [];
    const kv: KvItem[] = [];
    for (const key of [...new Set(entries.map((e) => (JSON.parse(decodeUtf8(e.payload)) as { k: string }).k))]) {
      const rec = this.kv.record(key);
      if (!rec) continue;
      for (const p of rec.parts) kv.push({ k: key, v: p.version, o: p.origin, b: p.value ? toBase64(p.value) : null, r: rec.replaced });
    }
    const next = entries.length ? entries[entries.length - 1].offset + 1 : cursor;
    return encodeBody({ v: 1, kv, next, topics }, this.cfg.compress).body;
  }
}

function checkKvItem(x: KvItem): { key: string; remote: { version: string; origin: string; value: Uint8Array | null; replaces: string[] } } {
  if (typeof x?.k !== "string" || typeof x.v !== "string" || !parseHlc(x.v) || (x.o !== "edge" && x.o !== "cloud")) throw new SyncError("bad key version in batch");
  try {
    checkKey(x.k);
  } catch (e) {
    throw new SyncError(`bad key in batch: ${(e as { val?: string }).val ?? "invalid"}`);
  }
  let value: Uint8Array | null = null;
  if (x.b !== null) {
    const b = typeof x.b === "string" ? fromBase64(x.b) : null;
    if (!b) throw new SyncError(`bad value for key ${JSON.stringify(x.k.slice(0, 40))}`);
    value = b;
  }
  const replaces = Array.isArray(x.r) ? x.r.filter((r): r is string => typeof r === "string") : [];
  return { key: x.k, remote: { version: x.v, origin: x.o, value, replaces } };
}

function checkTopicItem(t: TopicItem, edge: string): { target: string; records: [number, number, string][] } {
  if (typeof t?.t !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,60}$/.test(t.t) || !Array.isArray(t.r)) throw new SyncError("bad topic in batch");
  for (const r of t.r) {
    if (!Array.isArray(r) || !Number.isSafeInteger(r[0]) || typeof r[1] !== "number" || typeof r[2] !== "string" || !fromBase64(r[2])) throw new SyncError(`bad record in topic ${t.t}`);
  }
  return { target: `${t.t}--${edge}`, records: t.r };
}
