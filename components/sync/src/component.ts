// Wiring only: keel:sync exports → outbox.ts. Changes are read and acknowledged through
// keel:storage/replication, applied through keel:storage/kv and log; /data holds only sync's
// own run state (pause flag, last run, run marker).
import { nodeConfig } from "@keel/wasi-dir/node-config";
import { WasiDir } from "@keel/wasi-dir/wasi";
import * as kv from "keel:storage/kv@0.1.0";
import * as log from "keel:storage/log@0.1.0";
import * as replication from "keel:storage/replication@0.1.0";
import { getRandomBytes } from "wasi:random/random@0.2.12";
import { decode, encode, encodePacked } from "keel:text/utf8@0.1.0";
import { compress, decompress, deflate } from "keel:text/gzip@0.1.0";
import * as base64 from "keel:text/base64@0.1.0";
import { useBase64, useUtf8Decoder, useUtf8Encoder } from "@keel/bytes";
import { useGzip } from "@keel/wire";
import { syncConfig } from "./config.ts";
import { Sync, SyncError, type Storage } from "./outbox.ts";
import { describeThrown } from "@keel/model";
import type * as Outbox from "keel:sync/outbox@0.1.0";
import type * as Cloud from "keel:sync/cloud@0.1.0";

// A batch's JSON (hundreds of KB) is encoded by the canonical ABI, not a loop in QuickJS.
useUtf8Encoder(encode);
useUtf8Decoder(decode);
// Records and values to and from base64 compiled (components/text): ~20 µs a record in QuickJS.
useBase64(base64);
// Batches are gzipped and inflated compiled (components/gzip: libdeflate), not by fflate in QuickJS.
useGzip({ compress, decompress, deflate });

/** u64s cross as numbers (QuickJS) or bigints; option none as null or undefined. */
const num = (v: number | bigint | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));

const storage: Storage = {
  applyMany: (versions) => kv.applyMany(versions.map(({ key, remote }) => [key, remote])),
  appendTexts: (topic, texts) => void log.appendPacked(topic, encodePacked(texts)),
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
    sync = new Sync(WasiDir.open(), syncConfig(config, env), storage, (n) => getRandomBytes(n));
  }
  return sync;
}

/** Sync errors become the WIT error variant; storage errors pass through as `other`. */
function guard<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof SyncError) throw { tag: "invalid", val: e.message };
    throw { tag: "other", val: describeThrown(e) };
  }
}

function orElse<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}

export const outbox: typeof Outbox = {
  status: () => guard(() => {
    const st = current().status(Date.now());
    const r = st.sealedRefused;
    return { ...st, sealedRefused: { wrongKey: r.wrong_key, tampered: r.tampered, unknownKey: r.unknown_key, notSealed: r.not_sealed } };
  }),
  plan: () => {
    const c = orElse(() => current().cfg, null);
    if (!c || !c.enabled || c.role !== "edge" || !c.cloudUrl) return null;
    return { cloudUrl: c.cloudUrl, token: c.token, batchSize: c.batchSize, bandwidthBytesPerSecond: c.bandwidth, maxAttempts: c.maxAttempts, compress: c.compress };
  },
  // These have no error channel: a problem reading state means "not due", "cannot start",
  // "pull from the start" (status reports the problem).
  due: (nowMs) => orElse(() => current().due(nowMs), false),
  nextPull: () => orElse(() => current().pullRequest(), { cursor: 0, max: 1, topics: [] }),
  paused: () => orElse(() => current().paused(), false),
  tryBegin: (nowMs) => orElse(() => current().tryBegin(nowMs), false),
  end: () => orElse(() => current().end(), undefined), // a marker left behind expires
  nextBatch: () => guard(() => current().nextBatch()),
  ack: (cursors, nowMs) => guard(() => current().ack(cursors, nowMs)),
  fail: (message, nowMs) => guard(() => current().fail(message, nowMs)),
  pause: () => guard(() => current().pause()),
  resume: () => guard(() => current().resume(Date.now())),
  applyPulled: (body) => guard(() => current().applyPulled(body)),
};

export const cloud: typeof Cloud = {
  push: (edge, body) => guard(() => current().push(edge, body)),
  pull: (_edge, cursor, topics, max) => guard(() => current().pull(cursor, topics, max)),
};
