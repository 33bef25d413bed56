// Wiring only: wasi:http/incoming-handler → router.ts, with the keel imports as services.
// Built with componentize-js (StarlingMonkey): u64 crosses as BigInt here.
import { Fields, OutgoingBody, OutgoingRequest, OutgoingResponse, ResponseOutparam } from "wasi:http/types@0.2.12";
import type { IncomingRequest } from "wasi:http/types@0.2.12";
import { handle as send } from "wasi:http/outgoing-handler@0.2.12";
import { subscribeDuration } from "wasi:clocks/monotonic-clock@0.2.12";
import * as syncOutbox from "keel:sync/outbox@0.1.0";
import * as syncCloud from "keel:sync/cloud@0.1.0";
import { runSync, type HttpResponse, type Io } from "./sync-runner.ts";
import * as kv from "keel:storage/kv@0.1.0";
import * as admin from "keel:storage/admin@0.1.0";
import * as topicLog from "keel:storage/log@0.1.0";
import * as verifier from "keel:auth/verifier@0.1.0";
import * as limiter from "keel:rate-limit/limiter@0.1.0";
import { handle, MAX_BODY_BYTES, type Services } from "./router.ts";
import type { Request, Response } from "./http-types.ts";

const services: Services = {
  kv: {
    get: (key) => kv.get(key),
    put: (key, value, ifMatch) => kv.put(key, value, ifMatch),
    delete: (key, ifMatch) => kv.delete(key, ifMatch),
    scan: (prefix, cursor, limit) => kv.scan(prefix, cursor, limit),
    apply: (key, remote) => kv.apply(key, remote),
  },
  log: {
    append: (topic, payloads) => {
      const { first, count } = topicLog.append(topic, payloads);
      return Array.from({ length: count }, (_, i) => Number(first) + i);
    },
    read: (topic, from, max) => topicLog.read(topic, BigInt(from), max).map((r) => ({ offset: Number(r.offset), timestampMs: Number(r.timestampMs), payload: r.payload })),
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
    conflicts: (from, max) => admin.conflicts(BigInt(from), max).map((r) => ({ offset: Number(r.offset), timestampMs: Number(r.timestampMs), payload: r.payload })),
  },
  verifier: { authorize: (cls, authorization, nowMs) => verifier.authorize(cls, authorization, BigInt(nowMs)) },
  limiter: {
    check: (cls, who, nowMs) => limiter.check(cls, who, BigInt(nowMs)),
    counters: () => limiter.counters().map((c) => ({ name: c.name, value: Number(c.value) })),
  },
  sync: {
    plan: () => {
      const p = syncOutbox.plan();
      return p ? { ...p, bandwidthBytesPerSecond: Number(p.bandwidthBytesPerSecond) } : null;
    },
    nextBatch: () => {
      const b = syncOutbox.nextBatch();
      return b ? { ...b, rawBytes: Number(b.rawBytes) } : null;
    },
    tryBegin: (nowMs) => syncOutbox.tryBegin(BigInt(nowMs)),
    end: () => syncOutbox.end(),
    ack: (id, nowMs) => syncOutbox.ack(id, BigInt(nowMs)),
    fail: (message, nowMs) => syncOutbox.fail(message, BigInt(nowMs)),
    pullQuery: () => syncOutbox.pullQuery(),
    applyPulled: (body) => Number(syncOutbox.applyPulled(body)),
    status: () => {
      const st = syncOutbox.status();
      return {
        enabled: st.enabled, role: st.role, paused: st.paused, last_sync_ms: Number(st.lastSyncMs), last_error: st.lastError ?? null,
        lags: st.lags.map((l) => ({ name: l.name, records: Number(l.records), oldest_seconds: Number(l.oldestSeconds) })),
      };
    },
    pause: () => syncOutbox.pause(),
    resume: () => syncOutbox.resume(),
    push: (edge, body) => syncCloud.push(edge, body),
    pull: (edge, cursor, topics, max) => syncCloud.pull(edge, BigInt(cursor), topics.map((t) => ({ topic: t.topic, next: BigInt(t.next) })), max),
  },
  io: undefined as unknown as Io,
  nowMs: () => Date.now(),
};

/** A blocking HTTP client on wasi:http/outgoing-handler (the gateway handles one request at a time). */
function request(method: "GET" | "POST", url: string, headers: [string, string][], body: Uint8Array | null): HttpResponse {
  const u = new URL(url);
  const encoder = new TextEncoder();
  const req = new OutgoingRequest(Fields.fromList(headers.map(([k, v]) => [k, encoder.encode(v)] as [string, Uint8Array])));
  req.setMethod({ tag: method === "GET" ? "get" : "post" });
  req.setScheme({ tag: u.protocol === "https:" ? "HTTPS" : "HTTP" });
  req.setAuthority(u.host);
  req.setPathWithQuery(u.pathname + u.search);
  const outBody = req.body();
  const bodyStream = outBody.write();
  // NOTE: send first, then stream the body: the host buffers only one write before the request
  // is on its way, so writing a body over 4 KiB before sending would wait forever.
  const future = send(req, undefined);
  if (body) for (let i = 0; i < body.length; i += 4096) bodyStream.blockingWriteAndFlush(body.subarray(i, i + 4096));
  (bodyStream as unknown as Disposable)[Symbol.dispose]?.();
  OutgoingBody.finish(outBody, undefined);
  const pollable = future.subscribe();
  pollable.block();
  const result = future.get();
  if (!result || result.tag !== "ok") throw new Error("the response was already taken");
  if (result.val.tag !== "ok") throw new Error(`HTTP error: ${JSON.stringify(result.val.val)}`);
  const response = result.val.val;
  const status = response.status();
  const stream = response.consume().stream();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let chunk: Uint8Array;
    try {
      chunk = stream.blockingRead(65536n);
    } catch {
      break; // closed
    }
    chunks.push(chunk);
    total += chunk.length;
    if (total > 64 * 1024 * 1024) throw new Error("response too large");
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return { status, body: out };
}

services.io = {
  request,
  sleep: (ms) => {
    if (ms <= 0) return;
    subscribeDuration(BigInt(Math.round(ms * 1e6))).block();
  },
  nowMs: () => Date.now(),
  random: () => Math.random(),
};

const METHODS: Record<string, string> = {
  get: "GET", head: "HEAD", post: "POST", put: "PUT", delete: "DELETE",
  connect: "CONNECT", options: "OPTIONS", trace: "TRACE", patch: "PATCH",
};

function readRequest(request: IncomingRequest): Request {
  const m = request.method();
  const method = m.tag === "other" ? String(m.val).toUpperCase() : METHODS[m.tag];
  const headers = new Map<string, string>();
  const decoder = new TextDecoder();
  for (const [name, value] of request.headers().entries()) headers.set(name.toLowerCase(), decoder.decode(value));
  let body: Uint8Array | null = new Uint8Array(0);
  const declared = Number(headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) {
    body = null;
  } else if (method === "PUT" || method === "POST" || method === "PATCH") {
    body = readBody(request);
  }
  return { method, pathWithQuery: request.pathWithQuery() ?? "/", headers, body };
}

/** The whole body, or null once it passes MAX_BODY_BYTES (we stop reading there). */
function readBody(request: IncomingRequest): Uint8Array | null {
  const incoming = request.consume();
  const stream = incoming.stream();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      let chunk: Uint8Array;
      try {
        chunk = stream.blockingRead(65536n);
      } catch (e) {
        if ((e as { payload?: { tag?: string } })?.payload?.tag === "closed") break;
        throw e;
      }
      total += chunk.length;
      if (total > MAX_BODY_BYTES) return null;
      chunks.push(chunk);
    }
  } finally {
    (stream as unknown as Disposable)[Symbol.dispose]?.();
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}

function writeResponse(res: Response, outparam: unknown): void {
  const encoder = new TextEncoder();
  const fields = Fields.fromList(res.headers.map(([k, v]) => [k, encoder.encode(v)] as [string, Uint8Array]));
  const response = new OutgoingResponse(fields);
  response.setStatusCode(res.status);
  const body = response.body();
  ResponseOutparam.set(outparam as never, { tag: "ok", val: response });
  const out = body.write();
  // NOTE: blocking-write-and-flush takes at most 4096 bytes per call.
  for (let i = 0; i < res.body.length; i += 4096) out.blockingWriteAndFlush(res.body.subarray(i, i + 4096));
  (out as unknown as Disposable)[Symbol.dispose]?.();
  OutgoingBody.finish(body, undefined);
}

export const incomingHandler = {
  handle(incoming: IncomingRequest, outparam: unknown): void {
    writeResponse(handle(readRequest(incoming), services), outparam);
    // wasmtime serve has no timers: a sync that is due runs here, after the response that
    // noticed it has been sent (the client is not kept waiting).
    try {
      if (syncOutbox.due(BigInt(Date.now()))) runSync(services.sync, services.io, 4, 0);
    } catch {
      // recorded in sync status by the run itself
    }
  },
};
