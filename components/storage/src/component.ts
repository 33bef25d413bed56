// Wiring only: keel:storage exports → store.ts (see wit/storage/storage.wit); conflicts go to
// the imported keel:conflict/resolver.
import { nodeConfig } from "@keel/wasi-dir/node-config";
import { formatLogLine, logEnabled, logSettings, type LogLevel } from "@keel/config/log";
import { getStderr } from "wasi:cli/stderr@0.2.12";
import { getRandomBytes } from "wasi:random/random@0.2.12";
import * as resolver from "keel:conflict/resolver@0.1.0";
import { Store } from "./store.ts";
import { WasiDir } from "@keel/wasi-dir/wasi";
import { settingsFrom } from "./settings.ts";
import { encodeUtf8, toHex, useCrc32, useUtf8Decoder, useUtf8Encoder } from "@keel/bytes";
import { crc32 } from "keel:text/checksum@0.1.0";
import { decode, encode } from "keel:text/utf8@0.1.0";
import { conflictSettings, resolve } from "@keel/model";
import type { Part } from "./record.ts";
import { toWitError } from "./errors.ts";
import type * as Kv from "keel:storage/kv@0.1.0";
import type * as Log from "keel:storage/log@0.1.0";
import type * as Replication from "keel:storage/replication@0.1.0";
import type * as Admin from "keel:storage/admin@0.1.0";

// Checksums of records and frames run compiled, and long strings are encoded to UTF-8 by the
// canonical ABI (components/text), not in QuickJS.
useCrc32(crc32);
useUtf8Encoder(encode);
useUtf8Decoder(decode);

// NOTE: wasmtime serve may run this in a fresh instance per request; the store re-reads
// everything it needs from files, and the settings come from the host's KEEL_NODE_CONFIG.
let store: Store | undefined;
function open(): Store {
  if (!store) {
    const { config, env } = nodeConfig();
    const settings = settingsFrom(config, env);
    const conflict = conflictSettings(config);
    const log = logSettings(config);
    store = new Store(WasiDir.open(), settings, () => Date.now(), (line) => {
      const { level, msg, ...fields } = line as { level: LogLevel; msg: string };
      if (!logEnabled(log, level)) return;
      const text = formatLogLine(log.format, level, msg, { component: "storage", node: settings.node, ...fields });
      getStderr().blockingWriteAndFlush(encodeUtf8(text).subarray(0, 4096));
    }, {
      resolver: { strategyFor: resolver.strategyFor, resolve: resolver.resolve },
      fallback: (l, r) => resolve(conflict.fallback, conflict.fallback, l, r, () => { throw new Error("no merge"); }, conflict.maxValueBytes),
    }, `${Date.now().toString(36)}-${toHex(getRandomBytes(6))}`);
  }
  return store;
}

/** Every export of an interface, throwing only the WIT error variant (errors.ts toWitError). */
function guarded<T extends Record<string, (...args: never[]) => unknown>>(exports: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(exports)) {
    out[name] = (...args: unknown[]) => {
      try {
        return (fn as (...a: unknown[]) => unknown)(...args);
      } catch (e) {
        throw toWitError(e);
      }
    };
  }
  return out as T;
}

/** list<u8> arrives as a Uint8Array; copy only if an engine hands us a plain array. */
const bytes = (v: Uint8Array | number[]): Uint8Array => (v instanceof Uint8Array ? v : Uint8Array.from(v));

/** A remote version as the WIT gives it, checked and with its value as bytes. */
function remoteVersion(remote: Parameters<typeof Kv.apply>[1]): Part & { replaces: string[] } {
  if (remote.origin !== "edge" && remote.origin !== "cloud") throw { tag: "invalid-key", val: `origin must be edge or cloud` };
  return { version: remote.version, origin: remote.origin, value: remote.value ? bytes(remote.value) : null, replaces: remote.replaces };
}

export const types = {};

export const kv = guarded<typeof Kv>({
  get: (key) => open().kv.get(key) ?? null,
  put: (key, value, ifMatch) => open().put(key, bytes(value), ifMatch ?? undefined),
  delete: (key, ifMatch) => open().kv.delete(key, ifMatch ?? undefined),
  scan: (prefix, cursor, limit) => {
    const page = open().kv.scan(prefix, cursor ?? undefined, limit);
    return { entries: page.entries, nextCursor: page.nextCursor ?? null };
  },
  apply: (key, remote) => open().apply(key, remoteVersion(remote)),
  applyMany: (versions) => open().applyMany(versions.map(([key, remote]) => ({ key, remote: remoteVersion(remote) }))),
});

export const log = guarded<typeof Log>({
  append: (topic, payloads) => range(open().append(topic, payloads.map(bytes))),
  appendPacked: (topic, records) => open().appendPacked(topic, bytes(records)),
  read: (topic, from, max) => open().log.read(topic, from, max),
  topics: () => open().log.topics(),
});

// NOTE: a range, not list<u64>: StarlingMonkey (the gateway) failed to lift list<u64> results.
function range(offsets: number[]): { first: number; count: number } {
  return { first: offsets.length ? offsets[0] : 0, count: offsets.length };
}

export const replication = guarded<typeof Replication>({
  keyChanges: (from, max, collapse) => open().replication.keyChanges(from, max, collapse),
  meshChanges: (from, max) => open().replication.meshChanges(from, max),
  meshEnd: () => open().replication.meshEnd(),
  lastRecord: (topic) => open().replication.lastRecord(topic),
  cursor: (name) => {
    const at = open().replication.cursor(name);
    return at < 0 ? null : at;
  },
  ack: (name, offset) => open().replication.ack(name, offset),
  queueDepth: () => open().queueDepth(),
});

export const admin = guarded<typeof Admin>({
  usage: () => {
    const s = open();
    const u = s.usage();
    return { ...u, maxValueBytes: s.settings.maxValueBytes, eviction: s.settings.eviction };
  },
  verify: () => open().verify(),
  compact: () => open().compact(),
  counters: () => open().requests.all(),
  queue: () => open().queueDepth(),
  conflicts: (from, max) => open().conflictLog.read("conflicts", from, max),
  recordEvent: (name) => {
    if (!/^keel_[a-z0-9_]{1,90}_total$/.test(name)) throw { tag: "other", val: `not an event counter name: ${name.slice(0, 100)}` };
    open().counters.add(name, 1);
  },
  recordRequests: (samples, events) => open().requests.record(samples, events),
});
