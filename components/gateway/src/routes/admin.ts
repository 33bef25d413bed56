// Node routes: health, resources, metrics and the conflict log for operators; applying
// versions written on other nodes for nodes with the sync scope.
import { checkKey } from "@keel/model";
import type { Ctx, Route } from "../route-table.ts";
import type { RemoteVersion } from "../services.ts";
import { errorResponse, jsonResponse } from "../errors.ts";
import { decodeText, encodeText, fromBase64 } from "../text.ts";
import { limitParam, offsetParam } from "../query.ts";
import { KEEL_VERSION, MAX_APPLY_VERSIONS, MAX_BODY_BYTES } from "../limits.ts";
import { metricsText } from "../metrics.ts";
import { isStamp } from "./stamps.ts";

const health = { cls: null, run: () => jsonResponse(200, { status: "ok", version: KEEL_VERSION }) };

/**
 * Versions written on other nodes (sync and mesh send these): JSON
 * `{"versions": [{"key", "version", "origin", "value_base64" | null, "replaces"?}]}`. Every
 * item is checked before any is applied, so a bad batch changes nothing.
 */
function apply({ req, svc }: Ctx) {
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
    if (typeof v.version !== "string" || !isStamp(v.version)) return bad("version must be <wall-ms>.<counter>.<node>");
    if (v.origin !== "edge" && v.origin !== "cloud") return bad('origin must be "edge" or "cloud"');
    let value: Uint8Array | null = null;
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
  const outcomes = svc.kv.applyMany(items);
  const results = items.map(({ key, remote }, i) => ({ key, version: remote.version, outcome: outcomes[i] }));
  return jsonResponse(200, { results });
}

export const adminRoutes: Route[] = [
  { path: "/_keel/health", methods: { GET: health, HEAD: health } },
  {
    path: "/_keel/resources",
    methods: {
      GET: {
        cls: "admin",
        run: ({ svc }) => {
          const u = svc.admin.usage();
          return jsonResponse(200, {
            used_bytes: u.usedBytes, max_bytes: u.maxBytes, keys: u.keys, topics: u.topics,
            kv_bytes: u.kvBytes, log_bytes: u.logBytes, max_value_bytes: u.maxValueBytes, eviction: u.eviction,
            used_ratio: u.maxBytes ? +(u.usedBytes / u.maxBytes).toFixed(4) : null,
          });
        },
      },
    },
  },
  {
    path: "/_keel/metrics",
    methods: {
      GET: { cls: "admin", run: ({ svc }) => ({ status: 200, headers: [["content-type", "text/plain; version=0.0.4"]], body: encodeText(metricsText(svc)) }) },
    },
  },
  {
    path: "/_keel/conflicts",
    methods: {
      GET: {
        cls: "admin",
        run: ({ svc, query }) => {
          const from = offsetParam(query, "from", 0);
          const max = limitParam(query, "max", 100, 1000);
          if (typeof from !== "number") return from;
          if (typeof max !== "number") return max;
          const records = svc.admin.conflicts(from, max);
          return jsonResponse(200, {
            conflicts: records.map((r) => ({ offset: r.offset, ...JSON.parse(decodeText(r.payload)) })),
            next: records.length ? records[records.length - 1].offset + 1 : from,
          });
        },
      },
    },
  },
  { path: "/_keel/kv/apply", methods: { POST: { cls: "sync", run: apply } } },
];
