// The services every gateway build has (storage, auth, rate limits), wired from the keel
// imports. The service types are the WIT records (u64 crosses QuickJS as a number); only
// the router's optional arguments (undefined) become WIT's option none (null) here.
import * as kv from "keel:storage/kv@0.1.0";
import * as admin from "keel:storage/admin@0.1.0";
import * as topicLog from "keel:storage/log@0.1.0";
import * as verifier from "keel:auth/verifier@0.1.0";
import * as limiter from "keel:rate-limit/limiter@0.1.0";
import { now as monotonicNow } from "wasi:clocks/monotonic-clock@0.2.12";
import { getStderr } from "wasi:cli/stderr@0.2.12";
import { getRandomBytes } from "wasi:random/random@0.2.12";
import { toHex } from "@keel/bytes";
import { nodeConfig } from "@keel/wasi-dir/node-config";
import { logSettings } from "@keel/config/log";
import { encodeText } from "./text.ts";
import { rememberAnonymous } from "./anonymous.ts";
import type { Services } from "./router.ts";

let observability: ReturnType<Services["observability"]> | undefined;

const UNLIMITED = { allowed: true, limit: 0, remaining: 0, resetSeconds: 0, retryAfterSeconds: 0 };

/** Which optional parts this node runs; a part that is off is not called at all. */
export interface InstanceFlags {
  limits: boolean;
  sync: boolean;
  mesh: boolean;
}
let flags: InstanceFlags | undefined;

/** Read once per instance; with an unreadable config every part is asked (each reports its own problem). */
export function instanceFlags(): InstanceFlags {
  if (!flags) {
    try {
      const { config } = nodeConfig();
      flags = { limits: config.rate_limit?.enabled === true, sync: config.sync?.enabled === true && config.node?.role !== "cloud", mesh: config.mesh?.enabled === true };
    } catch {
      flags = { limits: true, sync: true, mesh: true };
    }
  }
  return flags;
}

/** Read once per instance from the host's KEEL_NODE_CONFIG (validated, defaults applied). */
function settings(): ReturnType<Services["observability"]> {
  if (!observability) {
    const { config } = nodeConfig();
    observability = { log: logSettings(config), node: config.node?.id ?? "?" };
  }
  return observability;
}

const offsets = ({ first, count }: { first: number; count: number }) => Array.from({ length: count }, (_, i) => first + i);

export function coreServices(): Services {
  return {
    kv: {
      get: (key) => kv.get(key),
      put: (key, value, ifMatch) => kv.put(key, value, ifMatch ?? null),
      delete: (key, ifMatch) => kv.delete(key, ifMatch ?? null),
      scan: (prefix, cursor, limit) => kv.scan(prefix, cursor ?? null, limit),
      applyMany: (versions) => kv.applyMany(versions.map(({ key, remote }) => [key, remote])),
    },
    log: {
      append: (topic, payloads) => offsets(topicLog.append(topic, payloads)),
      appendPacked: (topic, packed) => offsets(topicLog.appendPacked(topic, packed)),
      read: (topic, from, max) => topicLog.read(topic, from, max),
      topics: () => topicLog.topics(),
    },
    admin: {
      usage: () => admin.usage(),
      counters: () => admin.counters(),
      conflicts: (from, max) => admin.conflicts(from, max),
      recordEvent: (name) => admin.recordEvent(name),
      recordRequests: (samples, events) => admin.recordRequests(samples, events),
    },
    verifier: { authorize: rememberAnonymous((cls, authorization, nowMs) => verifier.authorize(cls, authorization ?? null, nowMs)) },
    limiter: {
      // With [rate_limit] off every answer is "unlimited": no call to the limiter (~3% of a GET).
      check: (cls, who, nowMs) => (instanceFlags().limits ? limiter.check(cls, who, nowMs) : UNLIMITED),
      counters: () => limiter.counters(),
    },
    nowMs: () => Date.now(),
    clockNs: () => Number(monotonicNow()),
    random: () => new DataView(getRandomBytes(4).buffer).getUint32(0) / 2 ** 32,
    randomHex: () => toHex(getRandomBytes(8)),
    observability: settings,
    writeLog: (line) => {
      try {
        // NOTE: blocking-write-and-flush takes at most 4096 bytes per call; a log line is shorter.
        getStderr().blockingWriteAndFlush(encodeText(line).subarray(0, 4096));
      } catch {
        // a log line is not worth failing a request over
      }
    },
  };
}
