// What waits to sync, read the same way by storage (backpressure, eviction, `cli queue`) and by
// the sync component (status, batches): cursors in `sync/cursors/<name>`, topics past them.
import type { Dir } from "@keel/wasi-dir";
import type { TopicLog } from "./log.ts";
import { decodeUtf8 } from "@keel/bytes";

/** Highest offset of a topic (or `@outbox`, `@pull`) the other side has acknowledged; -1 when none. */
export function readCursor(dir: Dir, name: string): number {
  const raw = dir.read(`sync/cursors/${name}`);
  const n = raw ? Number(decodeUtf8(raw)) : -1;
  return Number.isFinite(n) ? n : -1;
}

export interface QueueLag {
  /** Topic, or `@outbox` for keys under synced prefixes. */
  name: string;
  records: number;
  /** Timestamp of the oldest waiting record; 0 when none waits. */
  oldestMs: number;
}

/** Records waiting past the cursors: the key outbox (when prefixes sync) and each synced topic. */
export function queueLags(dir: Dir, logs: TopicLog, outbox: TopicLog, topics: string[], prefixes: string[]): QueueLag[] {
  const lag = (log: TopicLog, topic: string, name: string): QueueLag => {
    const from = readCursor(dir, name) + 1;
    const records = Math.max(0, log.nextOffset(topic) - from);
    return { name, records, oldestMs: records ? log.read(topic, from, 1)[0]?.timestampMs ?? 0 : 0 };
  };
  return [...(prefixes.length ? [lag(outbox, "outbox", "@outbox")] : []), ...topics.map((t) => lag(logs, t, t))];
}
