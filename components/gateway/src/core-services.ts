// The services every gateway build has (storage, auth, rate limits), wired from the keel
// imports. QuickJS: u64 crosses as a number, option none as null (the router's types say
// undefined; converted here).
import * as kv from "keel:storage/kv@0.1.0";
import * as admin from "keel:storage/admin@0.1.0";
import * as topicLog from "keel:storage/log@0.1.0";
import * as verifier from "keel:auth/verifier@0.1.0";
import * as limiter from "keel:rate-limit/limiter@0.1.0";
import type { Services } from "./router.ts";

export function coreServices(): Services {
  return {
    kv: {
      get: (key) => kv.get(key),
      put: (key, value, ifMatch) => kv.put(key, value, ifMatch ?? null),
      delete: (key, ifMatch) => kv.delete(key, ifMatch ?? null),
      scan: (prefix, cursor, limit) => kv.scan(prefix, cursor ?? null, limit),
      apply: (key, remote) => kv.apply(key, { ...remote, value: remote.value ?? null }),
    },
    log: {
      append: (topic, payloads) => {
        const { first, count } = topicLog.append(topic, payloads);
        return Array.from({ length: count }, (_, i) => Number(first) + i);
      },
      read: (topic, from, max) => topicLog.read(topic, from, max).map((r) => ({ offset: Number(r.offset), timestampMs: Number(r.timestampMs), payload: r.payload })),
      topics: () => topicLog.topics(),
    },
    admin: {
      usage: () => {
        const u = admin.usage();
        return {
          usedBytes: Number(u.usedBytes), maxBytes: Number(u.maxBytes), keys: Number(u.keys), topics: u.topics,
          kvBytes: Number(u.kvBytes), logBytes: Number(u.logBytes), maxValueBytes: Number(u.maxValueBytes), eviction: u.eviction,
        };
      },
      counters: () => admin.counters().map((c) => ({ name: c.name, value: Number(c.value) })),
      conflicts: (from, max) => admin.conflicts(from, max).map((r) => ({ offset: Number(r.offset), timestampMs: Number(r.timestampMs), payload: r.payload })),
      recordEvent: (name) => admin.recordEvent(name),
    },
    verifier: { authorize: (cls, authorization, nowMs) => verifier.authorize(cls, authorization ?? null, nowMs) },
    limiter: {
      check: (cls, who, nowMs) => limiter.check(cls, { clientIp: who.clientIp, subject: who.subject ?? null, apiKey: who.apiKey ?? null }, nowMs),
      counters: () => limiter.counters().map((c) => ({ name: c.name, value: Number(c.value) })),
    },
    nowMs: () => Date.now(),
  };
}
