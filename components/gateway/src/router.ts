// The HTTP API of a Keel node. Plain TypeScript over the domain services, so it runs the same
// in the composed component and under the Node host.
import type { Request, Response } from "./http-types.ts";
import { errorResponse, fromThrown, jsonResponse } from "./errors.ts";
import { decodeText, toBase64 } from "./text.ts";

export type { Request, Response } from "./http-types.ts";

export interface Entry {
  key: string;
  value: Uint8Array;
  version: string;
}

/** What the router calls: the gateway's imports, with u64s as numbers. */
export interface Services {
  kv: {
    get(key: string): Entry | null | undefined;
    put(key: string, value: Uint8Array, ifMatch: string | undefined): string;
    delete(key: string, ifMatch: string | undefined): boolean;
    scan(prefix: string, cursor: string | undefined, limit: number): { entries: Entry[]; nextCursor?: string | null };
  };
  admin: { usage(): { usedBytes: number; maxBytes: number; keys: number; topics: number } };
  verifier: { authorize(routeClass: RouteClass, authorization: string | undefined, nowMs: number): { subject: string } };
  limiter: {
    check(routeClass: RouteClass, key: string, nowMs: number): {
      allowed: boolean; limit: number; remaining: number; resetSeconds: number; retryAfterSeconds: number;
    };
  };
  nowMs(): number;
}

/** Route classes: what auth scopes and rate-limit rules are keyed on. */
export type RouteClass = "read" | "write" | "admin" | "sync" | "mesh" | "health";

export const KEEL_VERSION = "0.1.0";
/** Largest request body the gateway reads (the storage value limit). */
export const MAX_BODY_BYTES = 1024 * 1024;
const MAX_PATH_BYTES = 4096;

export function handle(req: Request, svc: Services): Response {
  try {
    return route(req, svc);
  } catch (e) {
    return fromThrown(e);
  }
}

function route(req: Request, svc: Services): Response {
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
    return jsonResponse(200, svc.admin.usage());
  }

  if (path === "/v1/kv") {
    if (req.method !== "GET") return methodNotAllowed("GET");
    const denied = guard(req, svc, "read");
    if (denied) return denied;
    const limit = query.get("limit") === undefined ? 100 : Number(query.get("limit"));
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return errorResponse(400, "bad_limit", "limit must be an integer from 1 to 1000");
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

  if (path.startsWith("/v1/topics/") || path.startsWith("/_keel/sync/") || path.startsWith("/_keel/mesh/") || path === "/_keel/metrics") {
    return errorResponse(501, "not_implemented", `${path} is not available in this build yet`);
  }

  return errorResponse(404, "not_found", `no route for ${req.method} ${path}`);
}

function kvRoute(req: Request, svc: Services, key: string): Response {
  const ifMatch = unquote(req.headers.get("if-match"));
  switch (req.method) {
    case "GET":
    case "HEAD": {
      const denied = guard(req, svc, "read");
      if (denied) return denied;
      const entry = svc.kv.get(key);
      if (!entry) return errorResponse(404, "not_found", `key ${JSON.stringify(key)} does not exist`);
      const etag = `"${entry.version}"`;
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
      return jsonResponse(200, { key, version }, [["etag", `"${version}"`]]);
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

/** Auth, then rate limit; a response when the request is refused, else undefined. */
function guard(req: Request, svc: Services, cls: RouteClass): Response | undefined {
  const now = svc.nowMs();
  let subject: string;
  try {
    subject = svc.verifier.authorize(cls, req.headers.get("authorization"), now).subject;
  } catch (e) {
    const p = (e as { payload?: { tag?: string; val?: string } })?.payload;
    if (p?.tag === "forbidden") return errorResponse(403, "forbidden", p.val ?? "missing scope");
    if (p?.tag === "unauthenticated") {
      return errorResponse(401, "unauthenticated", p.val ?? "credential required", [["www-authenticate", 'Bearer realm="keel"']]);
    }
    throw e;
  }
  const key = subject !== "anonymous" ? `sub:${subject}` : `ip:${req.headers.get("x-forwarded-for") ?? "local"}`;
  const v = svc.limiter.check(cls, key, now);
  if (!v.allowed) {
    return errorResponse(429, "rate_limited", `too many ${cls} requests; retry in ${v.retryAfterSeconds} s`, [
      ["retry-after", String(v.retryAfterSeconds)],
      ["ratelimit-limit", String(v.limit)],
      ["ratelimit-remaining", String(v.remaining)],
      ["ratelimit-reset", String(v.resetSeconds)],
    ]);
  }
  return undefined;
}

function methodNotAllowed(allow: string): Response {
  return errorResponse(405, "method_not_allowed", `allowed methods: ${allow}`, [["allow", allow]]);
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

export { decodeText };
