// Wiring only: keel:sync exports → outbox.ts. Changes are read and acknowledged through
// keel:storage/replication, applied through keel:storage/kv and log; /data holds only sync's
// own run state (pause flag, last run, run marker).
import { nodeConfig } from "@keel/wasi-dir/node-config";
import { WasiDir } from "@keel/wasi-dir/wasi";
import * as kv from "keel:storage/kv@0.1.0";
import * as log from "keel:storage/log@0.1.0";
import * as replication from "keel:storage/replication@0.1.0";
import { syncConfig } from "./config.ts";
import { Sync, SyncError, type Storage } from "./outbox.ts";

/** u64s cross as numbers (QuickJS) or bigints; option none as null or undefined. */
const num = (v: number | bigint | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));

const storage: Storage = {
  apply: (key, remote) => kv.apply(key, remote),
  append: (topic, payloads) => void log.append(topic, payloads),
  read: (topic, from, max) => log.read(topic, from, max).map((r) => ({ offset: Number(r.offset), timestampMs: Number(r.timestampMs), payload: r.payload })),
  keyChanges: (from, max, collapse) => {
    const c = replication.keyChanges(from, max, collapse);
    return { keys: c.keys, read: c.read, last: num(c.last) };
  },
  lastRecord: (topic) => {
    const r = replication.lastRecord(topic);
    return r ? { offset: Number(r.offset), timestampMs: Number(r.timestampMs), payload: r.payload } : null;
  },
  cursor: (name) => num(replication.cursor(name)) ?? -1,
  ack: (name, offset) => replication.ack(name, offset),
  queueDepth: () => replication.queueDepth().map((q) => ({ name: q.name, records: Number(q.records), oldestMs: Number(q.oldestMs) })),
};

let sync: Sync | undefined;
function current(): Sync {
  if (!sync) {
    const { config, env } = nodeConfig();
    sync = new Sync(WasiDir.open(), syncConfig(config, env), storage);
  }
  return sync;
}

/** Sync errors become the WIT error variant; storage errors pass through as `other`. */
function guard<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof SyncError) throw { tag: "invalid", val: e.message };
    const p = (e as { payload?: { tag?: string; val?: unknown } })?.payload ?? (e as { tag?: string; val?: unknown });
    if (p?.tag) throw { tag: "other", val: `${p.tag}${p.val !== undefined ? `: ${String(p.val)}` : ""}` };
    throw { tag: "other", val: e instanceof Error ? e.message : String(e) };
  }
}

function orElse<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}

export const outbox = {
  status: () => guard(() => current().status(Date.now())),
  plan: () => {
    const c = orElse(() => current().cfg, null);
    if (!c || !c.enabled || c.role !== "edge" || !c.cloudUrl) return null;
    return { cloudUrl: c.cloudUrl, token: c.token, batchSize: c.batchSize, bandwidthBytesPerSecond: c.bandwidth, maxAttempts: c.maxAttempts, compress: c.compress };
  },
  // These have no error channel: a problem reading state means "not due", "cannot start",
  // "pull from the start" (status reports the problem).
  due: (nowMs: number) => orElse(() => current().due(Number(nowMs)), false),
  pullQuery: () => orElse(() => current().pullQuery(), "cursor=0"),
  tryBegin: (nowMs: number) => orElse(() => current().tryBegin(Number(nowMs)), false),
  end: () => orElse(() => current().end(), undefined), // a marker left behind expires
  nextBatch: () => guard(() => current().nextBatch()),
  ack: (id: string, nowMs: number) => guard(() => current().ack(id, Number(nowMs))),
  fail: (message: string, nowMs: number) => guard(() => current().fail(message, Number(nowMs))),
  pause: () => guard(() => current().pause()),
  resume: () => guard(() => current().resume(Date.now())),
  applyPulled: (body: Uint8Array) => guard(() => current().applyPulled(body)),
};

export const cloud = {
  push: (edge: string, body: Uint8Array) => guard(() => current().push(edge, body)),
  pull: (_edge: string, cursor: number, topics: { topic: string; next: number }[], max: number) =>
    guard(() => current().pull(Number(cursor), topics.map((t) => ({ topic: t.topic, next: Number(t.next) })), max)),
};
