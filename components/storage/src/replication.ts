// What this node has for other nodes, behind `keel:storage/replication`: the key change feed
// (`system/outbox`, one `{"k", "v"}` record per change to a key under a replicated prefix,
// written under the key's lock before the change) and the topic logs, each read past a named
// cursor the replicator acknowledges. Storage counts what waits past the cursors (backpressure,
// eviction warnings, `queue`); it knows nothing of how the replicator ships the changes.
import type { Dir } from "@keel/wasi-dir";
import { encodeUtf8, decodeUtf8 } from "@keel/bytes";
import { isTopic } from "@keel/model";
import { storageError } from "./errors.ts";
import type { Kv } from "./kv.ts";
import type { TopicLog, LogRecord } from "./log.ts";
import type { Part } from "./record.ts";

const CURSORS = "replication/cursors";
/** The cursor of the key change feed. */
export const KEY_FEED = "@outbox";
/** The topic of `system/` that holds the key change feed. */
export const FEED_TOPIC = "outbox";
/** The topic of `system/` that holds the mesh feed: every change to a key the mesh replicates. */
export const MESH_TOPIC = "mesh";

/** A cursor is a topic's name, or `@<name>` for the key feed and the replicator's own positions. */
export function checkCursorName(name: string): void {
  if (!/^@[a-z][a-z0-9-]{0,31}$/.test(name) && !isTopic(name)) throw storageError("invalid-key", `cursor ${JSON.stringify(String(name).slice(0, 40))} is not a topic or @name`);
}

/** Highest offset acknowledged on cursor `name`; -1 when none. */
export function readCursor(dir: Dir, name: string): number {
  const raw = dir.read(`${CURSORS}/${name}`);
  const n = raw ? Number(decodeUtf8(raw)) : -1;
  return Number.isFinite(n) ? n : -1;
}

export interface QueueLag {
  /** Topic, or `@outbox` for keys under replicated prefixes. */
  name: string;
  records: number;
  /** Timestamp of the oldest waiting record; 0 when none waits. */
  oldestMs: number;
}

/** Records waiting past the cursors: the key feed (when prefixes replicate) and each replicated topic. */
export function queueLags(dir: Dir, logs: TopicLog, feed: TopicLog, topics: string[], prefixes: string[]): QueueLag[] {
  const lag = (log: TopicLog, topic: string, name: string): QueueLag => {
    const from = readCursor(dir, name) + 1;
    const records = Math.max(0, log.nextOffset(topic) - from);
    return { name, records, oldestMs: records ? log.read(topic, from, 1)[0]?.timestampMs ?? 0 : 0 };
  };
  return [...(prefixes.length ? [lag(feed, FEED_TOPIC, KEY_FEED)] : []), ...topics.map((t) => lag(logs, t, t))];
}

/** A changed key as it is now: every part (tombstones, siblings) and the versions it superseded. */
export interface KeyState {
  key: string;
  parts: Part[];
  replaces: string[];
}

export interface KeyChanges {
  keys: KeyState[];
  /** Feed entries read (a key changed twice is two entries). */
  read: number;
  /** Feed offset of the last entry read; null when none was. */
  last: number | null;
}

export class Replication {
  private readonly dir: Dir;
  private readonly kv: Kv;
  private readonly logs: TopicLog;
  private readonly feed: TopicLog;

  constructor(dir: Dir, kv: Kv, logs: TopicLog, feed: TopicLog) {
    this.dir = dir;
    this.kv = kv;
    this.logs = logs;
    this.feed = feed;
  }

  /**
   * Up to `max` feed entries from offset `from`, each as the key's current state (a key
   * deleted or evicted since is skipped); with `collapse`, each key once however often it changed.
   */
  keyChanges(from: number, max: number, collapse: boolean): KeyChanges {
    return this.changes(FEED_TOPIC, from, max, collapse);
  }

  /** Up to `max` entries of the mesh feed from `from`, each key once, as it is now. */
  meshChanges(from: number, max: number): KeyChanges {
    return this.changes(MESH_TOPIC, from, max, true);
  }

  /** The offset the next mesh feed entry gets. */
  meshEnd(): number {
    return this.feed.nextOffset(MESH_TOPIC);
  }

  private changes(topic: string, from: number, max: number, collapse: boolean): KeyChanges {
    const entries = this.feed.read(topic, from, max);
    const all = entries.map((e) => JSON.parse(decodeUtf8(e.payload)) as { k: string; v: string });
    // Collapsed, each key once, with the version of its last entry read.
    const wanted = collapse ? [...new Map(all.map((e) => [e.k, e])).values()] : all;
    const keys: KeyState[] = [];
    for (const { k: key, v } of wanted) {
      // A record that holds the entry's version, or lists it as superseded, has the write the
      // entry announced. Otherwise (the write may still be in flight) read under the key's
      // lock: a write whose feed entry is already there has also landed.
      const seen = this.kv.record(key);
      const rec = seen && (seen.parts.some((p) => p.version === v) || seen.replaced.includes(v)) ? seen : this.kv.settledRecord(key);
      if (rec) keys.push({ key, parts: rec.parts, replaces: rec.replaced });
    }
    return { keys, read: entries.length, last: entries.length ? entries[entries.length - 1].offset : null };
  }

  /** The newest record of a topic; null when it has none. */
  lastRecord(topic: string): LogRecord | null {
    const next = this.logs.nextOffset(topic);
    return next === 0 ? null : this.logs.read(topic, next - 1, 1)[0] ?? null;
  }

  cursor(name: string): number {
    checkCursorName(name);
    return readCursor(this.dir, name);
  }

  /** Move cursor `name` to `offset`; only forward (a late ack of an older batch changes nothing). */
  ack(name: string, offset: number): void {
    checkCursorName(name);
    if (!Number.isSafeInteger(offset) || offset < 0) throw storageError("other", `cursor offset ${offset} is not a non-negative integer`);
    if (offset <= readCursor(this.dir, name)) return;
    this.dir.mkdirp(CURSORS);
    this.dir.writeAtomic(`${CURSORS}/${name}`, encodeUtf8(String(offset)));
  }
}
