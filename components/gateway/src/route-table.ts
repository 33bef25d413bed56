// The route table's shape and the one guard every route goes through: auth for its route
// class, then the rate limit. A route is a path (exact, or a pattern whose captures become
// params) and, per method, the class its guard checks and the handler that answers.
import type { Request, Response } from "./http-types.ts";
import type { Principal, RouteClass, Services } from "./services.ts";
import { errorResponse } from "./errors.ts";

/** A request while it is routed: `extra` collects headers for whatever response it gets. */
export type Routed = Request & { extra: [string, string][]; principal?: Principal; cls?: RouteClass | "health" };

export interface Ctx {
  req: Routed;
  svc: Services;
  query: Map<string, string>;
  /** Path params, percent-decoded. */
  params: string[];
}

export type Handler = (ctx: Ctx) => Response;

export interface MethodSpec {
  /** The class the guard checks; null for routes nobody needs a credential for (health). */
  cls: RouteClass | null;
  run: Handler;
}

export interface Route {
  path: string | RegExp;
  /** Percent-decode the captures of a pattern path; a Response when they are not valid. */
  decode?: (captures: string[]) => string[] | Response;
  methods: Record<string, MethodSpec>;
  /** For every method, guarded with this class (mesh: node credentials before anything else). */
  any?: MethodSpec;
}

export function methodNotAllowed(allow: string): Response {
  return errorResponse(405, "method_not_allowed", `allowed methods: ${allow}`, [["allow", allow]]);
}

/** Auth, then rate limit; a response when the request is refused, else undefined. */
export function guard(req: Routed, svc: Services, cls: RouteClass): Response | undefined {
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
    subject: subject !== "anonymous" ? subject : null,
    apiKey: req.headers.get("x-api-key") ?? null,
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

/** Find the route for `path` and run it: 404 without a route, 405 (with Allow) without the method. */
export function dispatch(table: Route[], req: Routed, svc: Services, path: string, query: Map<string, string>): Response {
  for (const route of table) {
    let captures: string[];
    if (typeof route.path === "string") {
      if (route.path !== path) continue;
      captures = [];
    } else {
      const m = route.path.exec(path);
      if (!m) continue;
      captures = m.slice(1);
    }
    const spec = route.methods[req.method] ?? route.any;
    if (!spec) return methodNotAllowed(Object.keys(route.methods).join(", "));
    req.cls = spec.cls ?? "health";
    const params = route.decode ? route.decode(captures) : captures;
    if (!Array.isArray(params)) return params;
    if (spec.cls) {
      const denied = guard(req, svc, spec.cls);
      if (denied) return denied;
    }
    return spec.run({ req, svc, query, params });
  }
  return errorResponse(404, "not_found", `no route for ${req.method} ${path}`);
}
