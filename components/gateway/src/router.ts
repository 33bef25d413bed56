// The HTTP API of a Keel node: one table of routes (method, path, route class, handler) and
// one guard for auth and rate limiting. Plain TypeScript over the domain services, so it runs
// the same in the composed component, under the Node host and in tests.
import type { Request, Response } from "./http-types.ts";
import type { Services } from "./services.ts";
import { dispatch, type Route, type Routed } from "./route-table.ts";
import { errorResponse, fromThrown } from "./errors.ts";
import { parseQuery } from "@keel/model";
import { MAX_PATH_BYTES } from "./limits.ts";
import { adminRoutes } from "./routes/admin.ts";
import { kvRoutes } from "./routes/kv.ts";
import { topicRoutes } from "./routes/topics.ts";
import { syncRoutes } from "./routes/sync.ts";
import { meshRoutes } from "./routes/mesh.ts";

export type { Request, Response } from "./http-types.ts";
export type { Services, SyncService, MeshService, RouteClass } from "./services.ts";
export { KEEL_VERSION, MAX_BODY_BYTES } from "./limits.ts";

/** Durable counter of responses the client went away from before they were fully written. */
export const CLIENT_ABORTS = "keel_http_client_aborts_total";

/** Every route; exact paths are listed before the patterns that could also match them. */
export const ROUTES: Route[] = [...adminRoutes, ...topicRoutes, ...kvRoutes, ...syncRoutes, ...meshRoutes];

/** What routing found out, for metrics and traces: the route class (none when no route took it). */
export interface RouteInfo {
  cls?: string;
  /** Whether a bearer token was found verified in auth's cache; undefined without a token. */
  cached?: boolean;
}

export function handle(req: Request, svc: Services, info?: RouteInfo): Response {
  const routed: Routed = { ...req, extra: [] };
  let res: Response;
  try {
    res = route(routed, svc);
  } catch (e) {
    res = fromThrown(e);
  }
  // RateLimit-* headers go on every response the limiter decided on, refused or not.
  for (const h of routed.extra) if (!res.headers.some(([k]) => k === h[0])) res.headers.push(h);
  if (info) {
    info.cls = routed.cls;
    if (routed.principal && req.headers.has("authorization")) info.cached = routed.principal.cached;
  }
  return res;
}

function route(req: Routed, svc: Services): Response {
  if (req.pathWithQuery.length > MAX_PATH_BYTES) return errorResponse(414, "uri_too_long", `path is longer than ${MAX_PATH_BYTES} bytes`);
  const q = req.pathWithQuery.indexOf("?");
  const path = q < 0 ? req.pathWithQuery : req.pathWithQuery.slice(0, q);
  const query = parseQuery(q < 0 ? "" : req.pathWithQuery.slice(q + 1));
  if (query === null) return errorResponse(400, "bad_query", "query string is not valid percent-encoding");
  return dispatch(ROUTES, req, svc, path, query);
}
