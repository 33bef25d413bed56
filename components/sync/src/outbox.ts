// Edge ⇄ cloud sync. The outbox is storage's replication feed: topic logs past their
// acknowledged cursors, and the key change feed (`@outbox`, each change to a key under a synced
// prefix, recorded by storage before the change). A batch carries everything after the cursors,
// keys collapsed to their current version (delta: a key written ten times since the last sync is
// sent once), in the wire format of @keel/wire. The cursors move only when the cloud has answered
// 200, so a lost or retried batch is resent, and the cloud drops what it already has (per-edge
// topic offsets; key versions are idempotent).
//
// End-to-end topics (`end_to_end = true`): the edge seals each record's payload (@keel/wire
// seal.ts) before it leaves; the cloud checks only their shape, stores them in `<topic>--<edge>`
// as any record, and when it also sends the topic (bidirectional on the cloud) forwards them
// into its own `<topic>` as {n: origin, o: origin offset, t, b: sealed}; edges pulling the topic
// open each one before storing anything. A record that cannot be opened refuses the whole pulled
// batch, and is counted (`sync/sealed-refused`, keel_sync_sealed_refused_total).
import { withLock, type Dir } from "@keel/wasi-dir";
import { encodeUtf8, decodeUtf8, fromBase64, toBase64 } from "@keel/bytes";
import { isNodeId } from "@keel/model";
import type { SyncConfig } from "./config.ts";
import {
  checkKvItem, checkTopicItem, decodeBody, encodeBody, envelopeOffset, envelopeText, kvItems, openRecord, SealError, sealedHeader, sealRecord, topicItem,
  type BatchDoc, type KeyState, type KvItem, type LogRecord, type PullDoc, type RemoteVersion, type SealRefusal, type StoredRecord, type TopicItem,
} from "@keel/wire";
import { WireError as SyncError } from "@keel/wire";

export { WireError as SyncError } from "@keel/wire";

/** The key change feed's cursor in storage. */
/** A position in one of this node's change feeds (the batch's cursors; keel:sync feed-cursor). */
export interface FeedCursor {
  name: string;
  offset: number;
}

/** What the next pull asks the cloud for (keel:sync pull-request). */
export interface PullRequest {
  cursor: number;
  max: number;
  topics: { topic: string; next: number }[];
}

const KEY_FEED = "@outbox";
/** This edge's position in the cloud's key feed (a cursor storage keeps for sync). */
const PULL_CURSOR = "@pull";

/** A run marker not touched for this long belongs to a run that was cut off. */
const RUN_STALE_MS = 30_000;

/** What sync needs from storage: the `keel:storage` kv, log and replication imports. */
export interface Storage {
  /** Versions from another node, applied together (keel:storage/kv apply-many); the outcomes in order. */
  applyMany(versions: { key: string; remote: RemoteVersion }[]): string[];
  /**
   * Text records (envelopes), stored as UTF-8: the component packs a batch into one list
   * (keel:text/utf8 encode-packed → keel:storage/log append-packed) instead of one per record.
   */
  appendTexts(topic: string, texts: string[]): void;
  read(topic: string, from: number, max: number): LogRecord[];
  keyChanges(from: number, max: number, collapse: boolean): { keys: KeyState[]; read: number; last: number | null };
  lastRecord(topic: string): LogRecord | null;
  /** Acknowledged offset of a cursor; -1 when none. */
  cursor(name: string): number;
  ack(name: string, offset: number): void;
  queueDepth(): { name: string; records: number; oldestMs: number }[];
}

interface RunState { lastSyncMs: number; lastAttemptMs: number; lastError: string | null }

/** Sealed records refused on this node, by reason (durable: `sync/sealed-refused`). */
export type SealedRefusals = Record<SealRefusal, number>;

const REFUSED_FILE = "sync/sealed-refused";

/** Cryptographically random bytes: wasi:random in the component, WebCrypto in Node. */
export type RandomBytes = (n: number) => Uint8Array;

const webRandom: RandomBytes = (n) => {
  const c = (globalThis as { crypto?: { getRandomValues(b: Uint8Array): Uint8Array } }).crypto;
  if (!c) throw new SyncError("no source of random bytes to seal with");
  return c.getRandomValues(new Uint8Array(n));
};

export class Sync {
  readonly cfg: SyncConfig;
  /** Sync's own run state (`sync/state`, `sync/paused`, `sync/run.lock`); the data is storage's. */
  private readonly dir: Dir;
  private readonly storage: Storage;
  private readonly random: RandomBytes;

  constructor(dir: Dir, cfg: SyncConfig, storage: Storage, random: RandomBytes = webRandom) {
    this.dir = dir;
    this.cfg = cfg;
    this.storage = storage;
    this.random = random;
  }

  // ---- edge: state -------------------------------------------------------------------
  private state(): RunState {
    const raw = this.dir.read("sync/state");
    try {
      return raw ? JSON.parse(decodeUtf8(raw)) : { lastSyncMs: 0, lastAttemptMs: 0, lastError: null };
    } catch {
      return { lastSyncMs: 0, lastAttemptMs: 0, lastError: null };
    }
  }

  private saveState(s: RunState): void {
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
    return this.storage.queueDepth().map((l) => ({
      name: l.name, records: l.records, oldestSeconds: l.oldestMs ? Math.max(0, Math.floor((nowMs - l.oldestMs) / 1000)) : 0,
    }));
  }

  status(nowMs: number) {
    const s = this.state();
    return { enabled: this.cfg.enabled, role: this.cfg.role, paused: this.paused(), lastSyncMs: s.lastSyncMs, lastError: s.lastError, lags: this.cfg.enabled ? this.lags(nowMs) : [], sealedRefused: this.sealedRefused() };
  }

  // ---- end-to-end topics ----------------------------------------------------------------
  sealedRefused(): SealedRefusals {
    const counts: SealedRefusals = { wrong_key: 0, tampered: 0, unknown_key: 0, not_sealed: 0 };
    try {
      const raw = this.dir.read(REFUSED_FILE);
      const saved = raw ? (JSON.parse(decodeUtf8(raw)) as Partial<SealedRefusals>) : {};
      for (const k of Object.keys(counts) as SealRefusal[]) if (Number.isSafeInteger(saved[k])) counts[k] = saved[k]!;
    } catch {
      // a damaged file (it is not fsynced) starts the counts again
    }
    return counts;
  }

  /** Count a refusal (under a lock: the cloud takes pushes in parallel instances). */
  private countRefusal(reason: SealRefusal): void {
    try {
      this.dir.mkdirp("sync");
      withLock(this.dir, REFUSED_FILE, () => Date.now(), () => {
        const counts = this.sealedRefused();
        counts[reason]++;
        this.dir.writeAtomic(REFUSED_FILE, encodeUtf8(JSON.stringify(counts)), false);
      });
    } catch {
      // a counter is not worth hiding the refusal over
    }
  }

  /** Run `check`; a SealError is counted and rethrown with where it happened. */
  private refusing<T>(topic: string, check: () => T): T {
    try {
      return check();
    } catch (e) {
      if (!(e instanceof SealError)) throw e;
      this.countRefusal(e.reason);
      throw new SealError(e.reason, `end-to-end topic ${topic}: ${e.message}; the batch was refused and nothing applied`);
    }
  }

  /** The payloads of an end-to-end topic, sealed with the first key, bound to topic, this node and offset. */
  private sealed(topic: string, records: LogRecord[]): LogRecord[] {
    if (!this.cfg.keys.length) throw new SyncError(`end-to-end topic ${topic}: no key to seal with (${this.cfg.keyProblem || "[sync] encryption_key_env names none"}); nothing was sent`);
    return records.map((r) => ({ ...r, payload: sealRecord(this.cfg.keys, { topic, origin: this.cfg.node, offset: r.offset }, r.payload, this.random) }));
  }

  /**
   * Pulled records of an end-to-end topic (forwarded envelopes {n, o, t, b}), opened; any
   * record that is not one, or does not open, refuses the batch.
   */
  private opened(topic: string, records: StoredRecord[]): StoredRecord[] {
    return records.map(([offset, t, b]) => {
      const fwd = forwarded(b);
      if (!fwd) throw new SealError("not_sealed", `record ${offset} is not a sealed record forwarded by the cloud`);
      const plain = openRecord(this.cfg.keys, { topic, origin: fwd.n, offset: fwd.o }, fwd.sealed);
      return [offset, t, toBase64(plain), fwd.n, fwd.o];
    });
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
   * counts as released once it has not been touched for RUN_STALE_MS.
   */
  tryBegin(nowMs: number): boolean {
    this.dir.mkdirp("sync");
    let claimed = this.dir.createExclusive("sync/run.lock", new Uint8Array(0));
    const st = claimed ? null : this.dir.stat("sync/run.lock");
    // A live run touches the marker after every batch (ack); silence means it was cut off.
    if (st && nowMs - st.mtimeMs > RUN_STALE_MS) {
      this.dir.remove("sync/run.lock");
      claimed = this.dir.createExclusive("sync/run.lock", new Uint8Array(0));
    }
    // The attempt counts from now: a run that only pulls (nothing queued, so no ack) must not
    // leave the interval where it was, or every response after it would start another.
    if (claimed) this.saveState({ ...this.state(), lastAttemptMs: nowMs });
    return claimed;
  }

  end(): void {
    this.dir.remove("sync/run.lock");
  }

  // ---- edge: batches ------------------------------------------------------------------
  nextBatch(): { cursors: FeedCursor[]; body: Uint8Array; records: number; rawBytes: number } | null {
    if (!this.cfg.enabled || this.cfg.role !== "edge") throw new SyncError("this node does not push (sync disabled or cloud role)");
    let budget = this.cfg.batchSize;
    const cursors: Record<string, number> = {};
    const doc: BatchDoc = { v: 1, node: this.cfg.node, kv: [], topics: [] };
    if (this.cfg.prefixes.length) {
      // Delta: each key once, at its current version, however often it changed.
      const changes = this.storage.keyChanges(this.storage.cursor(KEY_FEED) + 1, budget, this.cfg.delta);
      if (changes.last !== null) {
        cursors[KEY_FEED] = changes.last;
        budget -= changes.read;
        doc.kv.push(...kvItems(changes.keys));
      }
    }
    for (const topic of this.cfg.topics) {
      if (budget <= 0) break;
      const records = this.storage.read(topic, this.storage.cursor(topic) + 1, Math.min(budget, 1000));
      if (!records.length) continue;
      cursors[topic] = records[records.length - 1].offset;
      budget -= records.length;
      doc.topics.push(topicItem(topic, this.cfg.endToEnd.includes(topic) ? this.sealed(topic, records) : records));
    }
    if (!Object.keys(cursors).length) return null;
    const { body, raw } = encodeBody(doc, this.cfg.compress);
    const records = doc.kv.length + doc.topics.reduce((a, t) => a + t.r.length, 0);
    return { cursors: Object.entries(cursors).map(([name, offset]) => ({ name, offset })), body, records, rawBytes: raw };
  }

  ack(cursors: FeedCursor[], nowMs: number): void {
    // Check every cursor before moving any.
    for (const { name, offset } of cursors) {
      if ((name !== KEY_FEED && !this.cfg.topics.includes(name)) || !Number.isSafeInteger(offset) || offset < 0) throw new SyncError(`bad batch cursor ${JSON.stringify(name).slice(0, 80)}`);
    }
    for (const { name, offset } of cursors) this.storage.ack(name, offset);
    this.saveState({ ...this.state(), lastSyncMs: nowMs, lastAttemptMs: nowMs, lastError: null });
    if (this.dir.stat("sync/run.lock")) this.dir.writeAtomic("sync/run.lock", new Uint8Array(0), false); // heartbeat
  }

  fail(message: string, nowMs: number): void {
    this.saveState({ ...this.state(), lastAttemptMs: nowMs, lastError: message.slice(0, 500) });
  }

  /**
   * The next pull: the key cursor, and per pulled topic the cloud offset after the last record
   * stored here. Pulled topic records live in `<topic>--cloud` as envelopes, so the position is
   * read from the same write as the records (a retried pull stores nothing twice).
   */
  pullRequest(): PullRequest {
    return {
      cursor: this.storage.cursor(PULL_CURSOR) + 1,
      max: this.cfg.batchSize,
      topics: this.cfg.pullTopics.map((topic) => ({ topic, next: envelopeOffset(this.storage.lastRecord(`${topic}--cloud`)) + 1 })),
    };
  }

  /** Apply what the cloud sent (keys through conflict resolution, topic records); returns items applied. */
  applyPulled(body: Uint8Array): number {
    const doc = decodeBody(body) as { kv?: KvItem[]; next?: number; topics?: TopicItem[] };
    const checked = (Array.isArray(doc.kv) ? doc.kv : []).map((x) => checkKvItem(x));
    const topics = (Array.isArray(doc.topics) ? doc.topics : []).map((t) => {
      const c = checkTopicItem(t, "cloud");
      // Opened before anything is applied: one record that does not open refuses the batch.
      return this.cfg.endToEnd.includes(t.t) ? { ...c, records: this.refusing(t.t, () => this.opened(t.t, c.records)) } : c;
    });
    this.storage.applyMany(checked);
    let records = 0;
    for (const t of topics) records += this.storeFresh(t.target, t.records).stored;
    if (typeof doc.next === "number" && Number.isSafeInteger(doc.next) && doc.next > 0) this.storage.ack(PULL_CURSOR, doc.next - 1);
    return checked.length + records;
  }

  /**
   * Store the records past the last one already in `target` (envelopes); a resent record is
   * skipped. `forward` (a cloud topic) gets the fresh ones first, as {n: sender, o, t, b}: a
   * crash between the two writes forwards a record twice rather than never.
   */
  private storeFresh(target: string, records: StoredRecord[], forward?: { topic: string; from: string }): { stored: number; duplicates: number } {
    const last = envelopeOffset(this.storage.lastRecord(target));
    const fresh = records.filter(([o]) => o > last);
    if (fresh.length && forward) this.storage.appendTexts(forward.topic, fresh.map(([o, t, b]) => JSON.stringify({ n: forward.from, o, t, b })));
    if (fresh.length) this.storage.appendTexts(target, fresh.map(envelopeText));
    return { stored: fresh.length, duplicates: records.length - fresh.length };
  }

  // ---- cloud ------------------------------------------------------------------------
  /** Accept a batch from `edge`. Idempotent: a retried batch stores nothing twice. */
  push(edge: string, body: Uint8Array): { versions: number; records: number; duplicates: number } {
    if (!this.cfg.enabled || this.cfg.role !== "cloud") throw new SyncError("this node is not a sync cloud (node.role = \"cloud\", sync.enabled)");
    if (!isNodeId(edge)) throw new SyncError("the credential carries no usable node id");
    const doc = decodeBody(body) as BatchDoc;
    if (doc?.v !== 1 || !Array.isArray(doc.kv) || !Array.isArray(doc.topics)) throw new SyncError("not a Keel sync batch");
    // Check everything before storing anything.
    const versions = doc.kv.map((x) => checkKvItem(x));
    const topics = doc.topics.map((t) => {
      const c = checkTopicItem(t, edge);
      // The cloud cannot open sealed records; it checks their shape (what is not sealed is refused).
      if (this.cfg.endToEnd.includes(t.t)) this.refusing(t.t, () => c.records.forEach(([o, , b]) => withOffset(o, () => sealedHeader(fromBase64(b)!))));
      return c;
    });
    this.storage.applyMany(versions);
    let records = 0;
    let duplicates = 0;
    for (const t of topics) {
      // The cloud keeps each edge's records in `<topic>--<edge>`: the last one stored says where
      // this edge is, in the same write as the records themselves.
      // An end-to-end topic the cloud also sends: forwarded, sealed, to the edges that pull it.
      const forward = this.cfg.endToEnd.includes(t.topic) && this.cfg.topics.includes(t.topic) ? { topic: t.topic, from: edge } : undefined;
      const r = this.storeFresh(t.target, t.records, forward);
      records += r.stored;
      duplicates += r.duplicates;
    }
    return { versions: versions.length, records, duplicates };
  }

  /** Key versions after `cursor` (collapsed to current versions) and records of the topics edges pull. */
  pull(cursor: number, topicCursors: { topic: string; next: number }[], max: number): Uint8Array {
    if (!this.cfg.enabled || this.cfg.role !== "cloud") throw new SyncError("this node is not a sync cloud");
    const limit = Math.max(1, Math.min(max || 500, 5000));
    const topics: TopicItem[] = [];
    for (const tc of topicCursors) {
      if (!this.cfg.topics.includes(tc.topic)) continue; // only topics the cloud sends
      const records = this.storage.read(tc.topic, tc.next, Math.min(limit, 1000));
      if (records.length) topics.push(topicItem(tc.topic, records));
    }
    const changes = this.cfg.prefixes.length ? this.storage.keyChanges(cursor, limit, true) : { keys: [], read: 0, last: null };
    const next = changes.last !== null ? changes.last + 1 : cursor;
    const doc: PullDoc = { v: 1, kv: kvItems(changes.keys), next, topics };
    return encodeBody(doc, this.cfg.compress).body;
  }
}

/** Name the record a shape check refused. */
function withOffset(offset: number, check: () => unknown): void {
  try {
    check();
  } catch (e) {
    if (e instanceof SealError) throw new SealError(e.reason, `record ${offset}: ${e.message}`);
    throw e;
  }
}

/** A forwarded record {n: origin, o: its offset there, b: sealed} from its base64 payload; null when it is not one. */
function forwarded(b64: string): { n: string; o: number; sealed: Uint8Array } | null {
  try {
    const f = JSON.parse(decodeUtf8(fromBase64(b64)!)) as { n?: unknown; o?: unknown; b?: unknown };
    const sealed = typeof f?.b === "string" ? fromBase64(f.b) : null;
    return sealed && typeof f.n === "string" && typeof f.o === "number" && Number.isSafeInteger(f.o) ? { n: f.n, o: f.o, sealed } : null;
  } catch {
    return null; // not JSON: not a forwarded record
  }
}
