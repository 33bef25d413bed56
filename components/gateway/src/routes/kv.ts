// /v1/kv: values by key, versions in ETag, compare-and-set with If-Match.
import type { MethodSpec, Route } from "../route-table.ts";
import { errorResponse, jsonResponse } from "../errors.ts";
import { toBase64, toBase64All } from "../text.ts";
import { limitParam } from "../query.ts";
import { MAX_BODY_BYTES } from "../limits.ts";
import { hlcJson } from "./stamps.ts";

/** If-Match / If-None-Match: `*` or one strong entity-tag `"<version>"` → its value; null when neither. */
export function entityTag(v: string | undefined): string | undefined | null {
  if (v === undefined) return undefined;
  const t = v.trim();
  if (t === "*") return t;
  return /^"[\x21\x23-\x7e]+"$/.test(t) ? t.slice(1, -1) : null;
}

const BAD_PRECONDITION = () => errorResponse(400, "bad_precondition", 'If-Match must be an entity-tag ("<version>") or *');

const decodeKey = ([raw]: string[]) => {
  let key: string;
  try {
    key = decodeURIComponent(raw ?? "");
  } catch {
    return errorResponse(400, "invalid_key", "key is not valid percent-encoded UTF-8");
  }
  return key === "" ? errorResponse(400, "invalid_key", "key is empty") : [key];
};

const read: MethodSpec = {
  cls: "read",
  run: ({ req, svc, params: [key] }) => {
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
    if (entityTag(req.headers.get("if-none-match")) === entry.version) return { status: 304, headers: [["etag", etag]], body: new Uint8Array(0) };
    return {
      status: 200,
      headers: [["content-type", "application/octet-stream"], ["etag", etag]],
      body: req.method === "HEAD" ? new Uint8Array(0) : entry.value,
    };
  },
};

export const kvRoutes: Route[] = [
  {
    path: "/v1/kv",
    methods: {
      GET: {
        cls: "read",
        run: ({ svc, query }) => {
          const limit = limitParam(query, "limit", 100, 1000);
          if (typeof limit !== "number") return limit;
          const page = svc.kv.scan(query.get("prefix") ?? "", query.get("cursor"), limit);
          const b64 = toBase64All(page.entries.map((e) => e.value));
          return jsonResponse(200, {
            entries: page.entries.map((e, i) => ({ key: e.key, version: e.version, value_base64: b64[i] })),
            next_cursor: page.nextCursor ?? null,
          });
        },
      },
    },
  },
  {
    path: /^\/v1\/kv\/(.*)$/,
    decode: decodeKey,
    methods: {
      GET: read,
      HEAD: read,
      PUT: {
        cls: "write",
        run: ({ req, svc, params: [key] }) => {
          const ifMatch = entityTag(req.headers.get("if-match"));
          if (ifMatch === null) return BAD_PRECONDITION();
          if (req.body === null) return errorResponse(413, "too_large", `body is larger than ${MAX_BODY_BYTES} bytes`);
          const version = svc.kv.put(key, req.body, ifMatch);
          return jsonResponse(200, { key, version, hlc: hlcJson(version) }, [["etag", `"${version}"`]]);
        },
      },
      DELETE: {
        cls: "write",
        run: ({ req, svc, params: [key] }) => {
          const ifMatch = entityTag(req.headers.get("if-match"));
          if (ifMatch === null) return BAD_PRECONDITION();
          const existed = svc.kv.delete(key, ifMatch);
          if (!existed) return errorResponse(404, "not_found", `key ${JSON.stringify(key)} does not exist`);
          return { status: 204, headers: [], body: new Uint8Array(0) };
        },
      },
    },
  },
];
