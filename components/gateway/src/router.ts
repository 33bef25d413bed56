// The HTTP API of a Keel node. Plain TypeScript over the domain services, so it runs the same
// in the composed component and under the Node host.
import type { Request, Response } from "./http-types.ts";
import { errorResponse, fromThrown, jsonResponse } from "./errors.ts";
import { decodeText, decodeUtf8Strict, encodeText, toBase64, fromBase64 } from "./text.ts";
import { runSync, type Io, type SyncApi } from "./sync-runner.ts";
import { checkKey } from "@keel/model";

export type { Request, Response } from "./http-types.ts";

export interface Sibling {
  version: string;
  origin: string;
  value: Uint8Array | null | undefined;
}

export interface Entry {
  key: string;
  value: Uint8Array;
  version: string;
  siblings: Sibling[];
}

export interface RemoteVersion {
  version: string;
  origin: string;
  value: Uint8Array | undefined;
  replaces: string[];
}

/** What the router calls: the gateway's imports, with u64s as numbers. */
export interface Services {
  kv: {
    get(key: string): Entry | null | undefined;
    put(key: string, value: Uint8Array, ifMatch: string | undefined): string;
    delete(key: string, ifMatch: string | undefined): boolean;
    scan(prefix: string, cursor: string | undefined, limit: number): { entries: Entry[]; nextCursor?: string | null };
    apply(key: string, remote: RemoteVersion): string;
  };
  log: {
    append(topic: string, payloads: Uint8Array[]): number[];
    read(topic: string, from: number, max: number): { offset: number; timestampMs: number; payload: Uint8Array }[];
    topics(): string[];
  };
  admin: {
    usage(): Usage;
    counters(): { name: string; value: number }[];
    conflicts(from: number, max: number): { offset: number; timestampMs: number; payload: Uint8Array }[];
    /** Count a rare event in a durable counter (e.g. CLIENT_ABORTS). */
    recordEvent(name: string): void;
  };
  verifier: { authorize(routeClass: RouteClass, authorization: string | undefined, nowMs: number): { subject: string; node?: string | null } };
  limiter: {
    check(routeClass: RouteClass, who: Identity, nowMs: number): {
      allowed: boolean; limit: number; remaining: number; resetSeconds: number; retryAfterSeconds: number;
    };
    counters(): { name: string; value: number }[];
  };
  /** Absent in builds without sync (edge-lite): its routes answer 501. */
  sync?: SyncService;
  /** The HTTP client and clock a sync run uses (absent with sync). */
  io?: Io;
  nowMs(): number;
}

export type SyncService = SyncApi & {
  status(): unknown;
  pause(): void;
  resume(): void;
  push(edge: string, body: Uint8Array): { versions: number; records: number; duplicates: number };
  pull(edge: string, cursor: number, topics: { topic: string; next: number }[], max: number): Uint8Array;
};

/** Durable counter of responses the client went away from before they were fully written. */
export const CLIENT_ABORTS = "keel_http_client_aborts_total";

export interface Usage {
  usedBytes: number;
  maxBytes: number;
  keys: number;
  topics: number;
  kvBytes: number;
  logBytes: number;
  maxValueBytes: number;
  eviction: string;
}

/** Who a request comes from, for rate-limit buckets. */
export interface Identity {
  clientIp: string;
  subject: string | undefined;
  apiKey: string | undefined;
}

/** Route classes: what auth scopes and rate-limit rules are keyed on. */
export type RouteClass = "read" | "write" | "admin" | "sync" | "mesh" | "health";

export const KEEL_VERSION = "0.1.0";
/** Largest request body the gateway reads: a topic batch; KV values are limited by storage. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;
const MAX_BATCH_RECORDS = 10_000;
const MAX_PATH_BYTES = 4096;

export function handle(req: Request, svc: Services): Response {
  const extra: [string, string][] = [];
  let res: Response;
  try {
    res = route({ ...req, extra }, svc);
  } catch (e) {
    res = fromThrown(e);
  }
  // RateLimit-* headers go on every response the limiter decided on, refused or not.
  for (const h of extra) if (!res.headers.some(([k]) => k === h[0])) res.headers.push(h);
  return res;
}

/** A request while it is routed: `extra` collects headers for whatever response it gets. */
type Routed = Request & { extra: [string, string][]; principal?: { subject: string; node?: string | null } };

function route(req: Routed, svc: Services): Response {
  if (req.pathWithQuery.length > MAX_PATH_BYTES) return errorResponse(414, "uri_too_long", `path is longer than ${MAX_PATH_BYTES} bytes`);
  const q = req.pathWithQuery.indexOf("?");
  const path = q < 0 ? req.pathWithQuery : req.pathWithQuery.slice(0, q);
  const query = parseQuery(q < 0 ? "" : req.pathWithQuery.slice(q + 1));
  if (query === null) return errorResponse(400, "bad_query", "query string is not valid percent-encoding");

  if (path === "/_keel/health") {
    if (req.method !== "GET" && req.method !== "HEAD") return methodNotAllowed("GET, HEAD");
    return jsonResponse(200, { status: "ok", version: KEEL_VERSION });
  }

  if (path === "/_keel/resources") {
    if (req.method !== "GET") return methodNotAllowed("GET");
    const denied = guard(req, svc, "admin");
    if (denied) return denied;
    const u = svc.admin.usage();
    return jsonResponse(200, {
      used_bytes: u.usedBytes, max_bytes: u.maxBytes, keys: u.keys, topics: u.topics,
      kv_bytes: u.kvBytes, log_bytes: u.logBytes, max_value_bytes: u.maxValueBytes, eviction: u.eviction,
      used_ratio: u.maxBytes ? +(u.usedBytes / u.maxBytes).toFixed(4) : null,
    });
  }

  if (path === "/_keel/metrics") {
    if (req.method !== "GET") return methodNotAllowed("GET");
    const denied = guard(req, svc, "admin");
    if (denied) return denied;
    return { status: 200, headers: [["content-type", "text/plain; version=0.0.4"]], body: encodeText(metricsText(svc)) };
  }

  if (path === "/_keel/kv/apply") {
    if (req.method !== "POST") return methodNotAllowed("POST");
    const denied = guard(req, svc, "sync");
    if (denied) return denied;
    return applyRoute(req, svc);
  }

  if (path === "/_keel/conflicts") {
    if (req.method !== "GET") return methodNotAllowed("GET");
    const denied = guard(req, svc, "admin");
    if (denied) return denied;
    const from = offsetParam(query, "from", 0);
    const max = limitParam(query, "max", 100, 1000);
    if (typeof from !== "number") return from;
    if (typeof max !== "number") return max;
    const records = svc.admin.conflicts(from, max);
    return jsonResponse(200, {
      conflicts: records.map((r) => ({ offset: r.offset, ...JSON.parse(decodeText(r.payload)) })),
      next: records.length ? records[records.length - 1].offset + 1 : from,
    });
  }

  if (path === "/v1/topics") {
    if (req.method !== "GET") return methodNotAllowed("GET");
    const denied = guard(req, svc, "read");
    if (denied) return denied;
    return jsonResponse(200, { topics: svc.log.topics() });
  }

  const topicMatch = /^\/v1\/topics\/([^/]+)\/records$/.exec(path);
  if (topicMatch) {
    let topic: string;
    try {
      topic = decodeURIComponent(topicMatch[1]);
    } catch {
      return errorResponse(400, "invalid_key", "topic is not valid percent-encoded UTF-8");
    }
    return topicRoute(req, svc, topic, query);
  }

  if (path === "/v1/kv") {
    if (req.method !== "GET") return methodNotAllowed("GET");
    const denied = guard(req, svc, "read");
    if (denied) return denied;
    const limit = limitParam(query, "limit", 100, 1000);
    if (typeof limit !== "number") return limit;
    const page = svc.kv.scan(query.get("prefix") ?? "", query.get("cursor"), limit);
    return jsonResponse(200, {
      entries: page.entries.map((e) => ({ key: e.key, version: e.version, value_base64: toBase64(e.value) })),
      next_cursor: page.nextCursor ?? null,
    });
  }

  if (path.startsWith("/v1/kv/")) {
    let key: string;
    try {
      key = decodeURIComponent(path.slice("/v1/kv/".length));
    } catch {
      return errorResponse(400, "invalid_key", "key is not valid percent-encoded UTF-8");
    }
    if (key === "") return errorResponse(400, "invalid_key", "key is empty");
    return kvRoute(req, svc, key);
  }

  if (path.startsWith("/_keel/sync/")) {
    if (!svc.sync || !svc.io) return errorResponse(501, "not_implemented", "sync is not part of this build (edge-lite); run dist/composed.wasm for sync");
    return syncRoute(req, svc as Services & { sync: SyncService; io: Io }, path.slice("/_keel/sync/".length), query);
  }

  if (path.startsWith("/_keel/mesh/")) {
    // Closed before anything else: these routes are for nodes with credentials only.
    const denied = guard(req, svc, "mesh");
    if (denied) return denied;
    return errorResponse(501, "not_implemented", `${path} is not available in this build yet`);
  }

  return errorResponse(404, "not_found", `no route for ${req.method} ${path}`);
}

function kvRoute(req: Routed, svc: Services, key: string): Response {
  const ifMatch = entityTag(req.headers.get("if-match"));
  if (ifMatch === null) return errorResponse(400, "bad_precondition", 'If-Match must be an entity-tag ("<version>") or *');
  switch (req.method) {
    case "GET":
    case "HEAD": {
      const denied = guard(req, svc, "read");
      if (denied) return denied;
      const entry = svc.kv.get(key);
      if (!entry) return errorResponse(404, "not_found", `key ${JSON.stringify(key)} does not exist`);
      const etag = `"${entry.version}"`;
      if (entry.siblings.length > 1) {
        // keep-both holds several versions: 300 lists them; a PUT (If-Match any of them) resolves.
        return jsonResponse(300, {
          key,
          siblings: entry.siblings.map((x) => ({ version: x.version, origin: x.origin, deleted: !x.value, value_base64: x.value ? toBase64(x.value) : null })),
        }, [["etag", etag]]);
      }
      if (unquote(req.headers.get("if-none-match")) === entry.version) return { status: 304, headers: [["etag", etag]], body: new Uint8Array(0) };
      return {
        status: 200,
        headers: [["content-type", "application/octet-stream"], ["etag", etag]],
        body: req.method === "HEAD" ? new Uint8Array(0) : entry.value,
      };
    }
    case "PUT": {
      const denied = guard(req, svc, "write");
      if (denied) return denied;
      if (req.body === null) return errorResponse(413, "too_large", `body is larger than ${MAX_BODY_BYTES} bytes`);
      const version = svc.kv.put(key, req.body, ifMatch);
      return jsonResponse(200, { key, version, hlc: hlcOf(version) }, [["etag", `"${version}"`]]);
    }
    case "DELETE": {
      const denied = guard(req, svc, "write");
      if (denied) return denied;
      const existed = svc.kv.delete(key, ifMatch);
      if (!existed) return errorResponse(404, "not_found", `key ${JSON.stringify(key)} does not exist`);
      return { status: 204, headers: [], body: new Uint8Array(0) };
    }
    default:
      return methodNotAllowed("GET, HEAD, PUT, DELETE");
  }
}

/**
 * /_keel/sync/*: operators (admin scope) see and steer sync on this node; other nodes (sync
 * scope, node credentials) push to and pull from a cloud node.
 */
function syncRoute(req: Routed, svc: Services & { sync: SyncService; io: Io }, action: string, query: Map<string, string>): Response {
  const nodeRoute = action === "push" || action === "pull";
  const denied = guard(req, svc, nodeRoute ? "sync" : "admin");
  if (denied) return denied;
  const want = (m: string) => (req.method === m ? undefined : methodNotAllowed(m));
  switch (action) {
    case "status":
    case "queue": {
      const bad = want("GET");
      if (bad) return bad;
      const st = svc.sync.status() as { lags?: unknown };
      return jsonResponse(200, action === "queue" ? { queue: st.lags } : st);
    }
    case "now": {
      const bad = want("POST");
      if (bad) return bad;
      const summary = runSync(svc.sync, svc.io);
      return jsonResponse(summary.error ? 502 : 200, summary);
    }
    case "pause":
    case "resume": {
      const bad = want("POST");
      if (bad) return bad;
      if (action === "pause") svc.sync.pause();
      else svc.sync.resume();
      return jsonResponse(200, { paused: action === "pause" });
    }
    case "push": {
      const bad = want("POST");
      if (bad) return bad;
      const node = req.principal?.node;
      if (!node) return errorResponse(403, "forbidden", "pushing needs a node credential (a token with a node claim)");
      if (req.body === null) return errorResponse(413, "too_large", `body is larger than ${MAX_BODY_BYTES} bytes`);
      return jsonResponse(200, svc.sync.push(node, req.body));
    }
    case "pull": {
      const bad = want("GET");
      if (bad) return bad;
      const node = req.principal?.node;
      if (!node) return errorResponse(403, "forbidden", "pulling needs a node credential (a token with a node claim)");
      const cursor = offsetParam(query, "cursor", 0);
      const max = limitParam(query, "max", 500, 5000);
      if (typeof cursor !== "number") return cursor;
      if (typeof max !== "number") return max;
      const topics: { topic: string; next: number }[] = [];
      for (const k of query.keys()) {
        if (!k.startsWith("t.")) continue;
        const next = offsetParam(query, k, 0);
        if (typeof next !== "number") return next;
        topics.push({ topic: k.slice(2), next });
      }
      return { status: 200, headers: [["content-type", "application/json"]], body: svc.sync.pull(node, cursor, topics, max) };
    }
    default:
      return errorResponse(404, "not_found", `no sync route ${action}`);
  }
}

/** `<wall-ms>.<counter>.<node>` as JSON fields. */
function hlcOf(version: string): { wall_ms: number; counter: number; node: string } | null {
  const m = /^(\d+)\.(\d+)\.(.+)$/.exec(version);
  return m ? { wall_ms: Number(m[1]), counter: Number(m[2]), node: m[3] } : null;
}

const MAX_APPLY_VERSIONS = 1000;
/** A version stamp as storage accepts it (see components/conflict/src/hlc.ts). */
const STAMP = /^\d{1,16}\.\d{1,9}\.[A-Za-z0-9._-]{1,64}~?$/;

/**
 * Versions written on other nodes (sync and mesh send these): JSON
 * `{"versions": [{"key", "version", "origin", "value_base64" | null, "replaces"?}]}`. Every
 * item is checked before any is applied, so a bad batch changes nothing.
 */
function applyRoute(req: Routed, svc: Services): Response {
  if (req.body === null) return errorResponse(413, "too_large", `body is larger than ${MAX_BODY_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(decodeText(req.body));
  } catch {
    return errorResponse(400, "bad_json", "body is not valid JSON");
  }
  const list = (doc as { versions?: unknown })?.versions;
  if (!Array.isArray(list)) return errorResponse(400, "bad_batch", 'body must be {"versions": [...]}');
  if (list.length > MAX_APPLY_VERSIONS) return errorResponse(413, "too_large", `a batch holds at most ${MAX_APPLY_VERSIONS} versions`);
  const items: { key: string; remote: RemoteVersion }[] = [];
  for (const [i, raw] of list.entries()) {
    const v = raw as Record<string, unknown>;
    const bad = (why: string) => errorResponse(400, "bad_batch", `versions[${i}]: ${why}`);
    if (typeof v?.key !== "string" || !v.key) return bad("key must be a non-empty string");
    try {
      checkKey(v.key);
    } catch (e) {
      return bad((e as { val?: string }).val ?? "invalid key");
    }
    if (typeof v.version !== "string" || !STAMP.test(v.version)) return bad("version must be <wall-ms>.<counter>.<node>");
    if (v.origin !== "edge" && v.origin !== "cloud") return bad('origin must be "edge" or "cloud"');
    let value: Uint8Array | undefined;
    if (v.value_base64 !== null) {
      if (typeof v.value_base64 !== "string") return bad("value_base64 must be base64 or null (a delete)");
      const b = fromBase64(v.value_base64);
      if (!b) return bad("value_base64 is not base64");
      value = b;
    }
    const replaces = v.replaces === undefined ? [] : v.replaces;
    if (!Array.isArray(replaces) || replaces.some((r) => typeof r !== "string")) return bad("replaces must be a list of versions");
    items.push({ key: v.key, remote: { version: v.version, origin: v.origin, value, replaces: replaces as string[] } });
  }
  const results = items.map(({ key, remote }) => ({ key, version: remote.version, outcome: svc.kv.apply(key, remote) }));
  return jsonResponse(200, { results });
}

function topicRoute(req: Routed, svc: Services, topic: string, query: Map<string, string>): Response {
  if (req.method === "POST") {
    const denied = guard(req, svc, "write");
    if (denied) return denied;
    if (req.body === null) return errorResponse(413, "too_large", `body is larger than ${MAX_BODY_BYTES} bytes`);
    const payloads = parseBatch(req);
    if ("error" in payloads) return payloads.error;
    const offsets = svc.log.append(topic, payloads.records);
    return jsonResponse(200, { topic, offsets });
  }
  if (req.method === "GET") {
    const denied = guard(req, svc, "read");
    if (denied) return denied;
    const from = offsetParam(query, "from", 0);
    const max = limitParam(query, "max", 100, 1000);
    if (typeof from !== "number") return from;
    if (typeof max !== "number") return max;
    const records = svc.log.read(topic, from, max);
    return jsonResponse(200, {
      topic,
      records: records.map((r) => ({ offset: r.offset, timestamp_ms: r.timestampMs, value: textOrNull(r.payload), value_base64: toBase64(r.payload) })),
      next: records.length ? records[records.length - 1].offset + 1 : from,
    });
  }
  return methodNotAllowed("GET, POST");
}

/**
 * A batch body: JSON `{"records": [...]}` where each record is a string (stored as UTF-8) or
 * `{"base64": "..."}`; any other content type is one record of raw bytes.
 */
function parseBatch(req: Request): { records: Uint8Array[] } | { error: Response } {
  const body = req.body ?? new Uint8Array(0);
  const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json") return { records: [body] };
  let doc: unknown;
  try {
    doc = JSON.parse(decodeText(body));
  } catch {
    return { error: errorResponse(400, "bad_json", "body is not valid JSON") };
  }
  const list = (doc as { records?: unknown })?.records;
  if (!Array.isArray(list)) return { error: errorResponse(400, "bad_batch", 'body must be {"records": [...]}') };
  if (list.length > MAX_BATCH_RECORDS) return { error: errorResponse(413, "too_large", `a batch holds at most ${MAX_BATCH_RECORDS} records`) };
  const records: Uint8Array[] = [];
  for (const [i, r] of list.entries()) {
    if (typeof r === "string") records.push(encodeText(r));
    else if (r && typeof r === "object" && typeof (r as { base64?: unknown }).base64 === "string") {
      const bytes = fromBase64((r as { base64: string }).base64);
      if (!bytes) return { error: errorResponse(400, "bad_batch", `records[${i}].base64 is not valid base64`) };
      records.push(bytes);
    } else return { error: errorResponse(400, "bad_batch", `records[${i}] must be a string or {"base64": "..."}`) };
  }
  return { records };
}

function textOrNull(b: Uint8Array): string | null {
  try {
    return decodeUtf8Strict(b);
  } catch {
    return null;
  }
}

/** Prometheus text exposition of storage usage and counters. */
function metricsText(svc: Services): string {
  const u = svc.admin.usage();
  const lines: string[] = [];
  const gauge = (name: string, help: string, v: number) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${v}`);
  gauge("keel_storage_used_bytes", "Bytes of keys and logs on disk.", u.usedBytes);
  gauge("keel_storage_max_bytes", "Configured storage limit in bytes (0 = unlimited).", u.maxBytes);
  gauge("keel_storage_keys", "Live keys.", u.keys);
  gauge("keel_storage_topics", "Topics.", u.topics);
  for (const c of [...svc.admin.counters(), ...svc.limiter.counters()]) lines.push(`# TYPE ${c.name} counter`, `${c.name} ${c.value}`);
  const sync = (svc.sync?.status() ?? {}) as { enabled?: boolean; paused?: boolean; last_sync_ms?: number; lags?: { name: string; records: number; oldest_seconds: number }[] };
  if (sync.enabled) {
    lines.push("# HELP keel_sync_queue_records Records waiting to sync.", "# TYPE keel_sync_queue_records gauge");
    for (const l of sync.lags ?? []) lines.push(`keel_sync_queue_records{name="${l.name}"} ${l.records}`);
    lines.push("# HELP keel_sync_queue_oldest_seconds Age of the oldest waiting record.", "# TYPE keel_sync_queue_oldest_seconds gauge");
    for (const l of sync.lags ?? []) lines.push(`keel_sync_queue_oldest_seconds{name="${l.name}"} ${l.oldest_seconds}`);
    gauge("keel_sync_paused", "1 while sync is paused.", sync.paused ? 1 : 0);
    gauge("keel_sync_last_success_ms", "Epoch ms of the last successful sync (0: never).", sync.last_sync_ms ?? 0);
  }
  return lines.join("\n") + "\n";
}

/** Auth, then rate limit; a response when the request is refused, else undefined. */
function guard(req: Routed, svc: Services, cls: RouteClass): Response | undefined {
  const now = svc.nowMs();
  let subject: string;
  try {
    const principal = svc.verifier.authorize(cls, req.headers.get("authorization"), now);
    subject = principal.subject;
    req.principal = principal;
  } catch (e) {
    const p = (e as { payload?: { tag?: string; val?: string } })?.payload;
    const why = quoteParam(p?.val ?? "");
    if (p?.tag === "forbidden") {
      return errorResponse(403, "forbidden", p.val ?? "missing scope", [["www-authenticate", `Bearer realm="keel", error="insufficient_scope", error_description="${why}"`]]);
    }
    if (p?.tag === "unauthenticated") {
      // RFC 6750 §3: no error code when no credential was sent at all.
      const challenge = req.headers.has("authorization") ? `Bearer realm="keel", error="invalid_token", error_description="${why}"` : 'Bearer realm="keel"';
      return errorResponse(401, "unauthenticated", p.val ?? "credential required", [["www-authenticate", challenge]]);
    }
    throw e;
  }
  const v = svc.limiter.check(cls, {
    clientIp: clientIp(req),
    subject: subject !== "anonymous" ? subject : undefined,
    apiKey: req.headers.get("x-api-key"),
  }, now);
  if (v.limit > 0) {
    req.extra.push(["ratelimit-limit", String(v.limit)], ["ratelimit-remaining", String(v.remaining)], ["ratelimit-reset", String(v.resetSeconds)]);
  }
  if (!v.allowed) {
    return errorResponse(429, "rate_limited", `too many ${cls} requests; retry in ${v.retryAfterSeconds} s`, [["retry-after", String(v.retryAfterSeconds)]]);
  }
  return undefined;
}

/**
 * wasi:http does not tell a component the peer address, so the client address is the first
 * X-Forwarded-For entry; the limiter uses it only when `[rate_limit] trust_forwarded_for` says
 * a proxy in front sets it (a client could forge it otherwise).
 */
function clientIp(req: Request): string {
  const fwd = req.headers.get("x-forwarded-for");
  const first = fwd?.split(",")[0].trim() ?? "";
  return /^[0-9A-Fa-f:.]{2,45}$/.test(first) ? first : "unknown";
}

function quoteParam(s: string): string {
  return s.replace(/[^\x20-\x7e]|["\\]/g, "").slice(0, 200);
}

/** An offset query parameter (whole number ≥ 0, `dflt` when absent), or the 400 that says why not. */
function offsetParam(query: Map<string, string>, name: string, dflt: number): number | Response {
  const v = query.get(name) === undefined ? dflt : Number(query.get(name));
  return Number.isSafeInteger(v) && v >= 0 ? v : errorResponse(400, "bad_offset", `${name} must be a whole number ≥ 0`);
}

/** A count query parameter (integer 1..max, `dflt` when absent), or the 400 that says why not. */
function limitParam(query: Map<string, string>, name: string, dflt: number, max: number): number | Response {
  const v = query.get(name) === undefined ? dflt : Number(query.get(name));
  return Number.isInteger(v) && v >= 1 && v <= max ? v : errorResponse(400, "bad_limit", `${name} must be an integer from 1 to ${max}`);
}

function methodNotAllowed(allow: string): Response {
  return errorResponse(405, "method_not_allowed", `allowed methods: ${allow}`, [["allow", allow]]);
}

/** If-Match: `*` or one strong entity-tag `"<version>"` → its value; null when it is neither. */
function entityTag(v: string | undefined): string | undefined | null {
  if (v === undefined) return undefined;
  const t = v.trim();
  if (t === "*") return t;
  return /^"[\x21\x23-\x7e]+"$/.test(t) ? t.slice(1, -1) : null;
}

function unquote(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  return t.startsWith('"') && t.endsWith('"') && t.length >= 2 ? t.slice(1, -1) : t;
}

/** Parse `a=1&b=2`; null when percent-encoding is malformed. */
function parseQuery(qs: string): Map<string, string> | null {
  const out = new Map<string, string>();
  if (!qs) return out;
  for (const part of qs.split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    try {
      const k = decodeURIComponent((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, " "));
      const v = eq < 0 ? "" : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, " "));
      out.set(k, v);
    } catch {
      return null;
    }
  }
  return out;
}

