// The sync routes a cloud gateway on JetStream answers itself (everything else still goes to the
// gateway component): POST /_keel/sync/push and GET /_keel/sync/pull, the same contract, errors
// and credentials as the component's routes (components/gateway/src/routes/sync.ts), but async,
// because JetStream is reached over the network. Credentials are checked by the auth component.
import type { PlainRequest, PlainResponse } from "../http-server.ts";
import { WireError } from "@keel/wire";
import { parseQuery } from "@keel/model";
import { StoreUnavailable, type JetStreamCloud } from "./jetstream.ts";

/** keel:auth/verifier authorize, as the host reaches it (u64 as bigint; errors thrown with a payload). */
export type Authorize = (cls: "sync", authorization: string | undefined, nowMs: bigint) => { subject: string; node?: string };

/** keel:rate-limit/limiter check: the [rate_limit.rules.sync] limit, as the gateway applies it. */
export type Limit = (cls: "sync", who: { clientIp: string; subject?: string; apiKey?: string }, nowMs: bigint) => {
  allowed: boolean; limit: number; remaining: number; resetSeconds: number; retryAfterSeconds: number;
};

const json = (status: number, value: unknown, headers: [string, string][] = []): PlainResponse => ({
  status, headers: [["content-type", "application/json"], ...headers], body: Buffer.from(JSON.stringify(value) + "\n"),
});
const error = (status: number, code: string, message: string, headers: [string, string][] = []) => json(status, { error: code, message }, headers);

const ROUTE = /^\/_keel\/sync\/(push|pull)(?:\?(.*))?$/;

/** Whether `req` is one of the routes this module answers. */
export function isCloudRoute(pathWithQuery: string): boolean {
  return ROUTE.test(pathWithQuery);
}

const whole = (v: string | undefined, dflt: number) => (v === undefined ? dflt : /^\d{1,16}$/.test(v) ? Number(v) : NaN);

const header = (req: PlainRequest, name: string) => req.headers.find(([k]) => k === name)?.[1];

/** As the gateway: the first X-Forwarded-For entry (the limiter trusts it only when configured to). */
function clientIp(req: PlainRequest): string {
  const first = header(req, "x-forwarded-for")?.split(",")[0].trim() ?? "";
  return /^[0-9A-Fa-f:.]{2,45}$/.test(first) ? first : "unknown";
}

export async function handleCloudRoute(req: PlainRequest, store: JetStreamCloud, authorize: Authorize, limit: Limit): Promise<PlainResponse> {
  const m = ROUTE.exec(req.pathWithQuery)!;
  const route = m[1];
  const method = route === "push" ? "POST" : "GET";
  if (req.method !== method) return error(405, "method_not_allowed", `${req.pathWithQuery.split("?")[0]} takes ${method}`, [["allow", method]]);
  let principal: { subject: string; node?: string };
  const auth = header(req, "authorization");
  try {
    principal = authorize("sync", auth, BigInt(Date.now()));
  } catch (e) {
    const p = (e as { payload?: { tag?: string; val?: string } })?.payload;
    const why = (p?.val ?? "").replace(/[^\x20-\x7e]|["\\]/g, "").slice(0, 200);
    if (p?.tag === "unauthenticated") return error(401, "unauthenticated", p.val ?? "credential required", [["www-authenticate", auth ? `Bearer realm="keel", error="invalid_token", error_description="${why}"` : 'Bearer realm="keel"']]);
    if (p?.tag === "forbidden") return error(403, "forbidden", p.val ?? "missing scope", [["www-authenticate", `Bearer realm="keel", error="insufficient_scope", error_description="${why}"`]]);
    throw e;
  }
  const v = limit("sync", { clientIp: clientIp(req), subject: principal.subject, apiKey: header(req, "x-api-key") }, BigInt(Date.now()));
  if (!v.allowed) return error(429, "rate_limited", `too many sync requests; retry in ${v.retryAfterSeconds} s`, [["retry-after", String(v.retryAfterSeconds)]]);
  const node = principal.node;
  if (!node) return error(403, "forbidden", `${route === "push" ? "pushing" : "pulling"} needs a node credential (a token with a node claim)`);
  try {
    if (route === "push") {
      if (req.body.tag === "too-large") return error(413, "too_large", "the batch is larger than this node accepts");
      return json(200, await store.push(node, req.body.val));
    }
    const q = parseQuery(m[2] ?? "");
    if (!q) return error(400, "bad_query", "malformed percent-encoding in the query string");
    const cursor = whole(q.get("cursor"), 0);
    const max = whole(q.get("max"), 500);
    if (!Number.isSafeInteger(cursor)) return error(400, "bad_offset", "cursor must be a whole number ≥ 0");
    if (!Number.isSafeInteger(max) || max < 1 || max > 5000) return error(400, "bad_limit", "max must be an integer from 1 to 5000");
    const topics: { topic: string; next: number }[] = [];
    for (const [k, v] of q) {
      if (!k.startsWith("t.")) continue;
      const next = whole(v, 0);
      if (!Number.isSafeInteger(next)) return error(400, "bad_offset", `${k} must be a whole number ≥ 0`);
      topics.push({ topic: k.slice(2), next });
    }
    const body = await store.pull(node, cursor, topics, max);
    return { status: 200, headers: [["content-type", "application/json"]], body };
  } catch (e) {
    if (e instanceof WireError) return error(400, "bad_batch", e.message); // SealError too: an unsealed end-to-end record
    if (e instanceof StoreUnavailable) return error(503, "store_unavailable", e.message, [["retry-after", "1"]]);
    throw e;
  }
}
