// /v1/topics: append-only logs, batches appended atomically, read from an offset.
import type { Request, Response } from "../http-types.ts";
import type { Route } from "../route-table.ts";
import { errorResponse, jsonResponse } from "../errors.ts";
import { decodeText, decodeUtf8Strict, encodePackedTexts, encodeTexts, fromBase64, toBase64All } from "../text.ts";

const EMPTY = new Uint8Array(0);
import { limitParam, offsetParam } from "../query.ts";
import { MAX_BATCH_RECORDS, MAX_BODY_BYTES } from "../limits.ts";

const decodeTopic = ([raw]: string[]) => {
  try {
    return [decodeURIComponent(raw ?? "")];
  } catch {
    return errorResponse(400, "invalid_key", "topic is not valid percent-encoded UTF-8");
  }
};

/**
 * A batch body: JSON `{"records": [...]}` where each record is a string (stored as UTF-8) or
 * `{"base64": "..."}`; any other content type is one record of raw bytes.
 */
function parseBatch(req: Request): { records: Uint8Array[] } | { packed: Uint8Array } | { error: Response } {
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
  // All text (what JSON clients send): packed in one list, as storage's frame holds them — one
  // call to the native encoder in the components. NOTE: an indexed loop; an entries() iterator
  // allocates a pair per record in QuickJS.
  let allText = true;
  for (let i = 0; i < list.length && allText; i++) allText = typeof list[i] === "string";
  if (allText) return { packed: encodePackedTexts(list as string[]) };
  // Mixed: text records are still encoded together.
  const texts: string[] = [];
  const textAt: number[] = [];
  const records: Uint8Array[] = [];
  for (let i = 0; i < list.length; i++) {
    const r: unknown = list[i];
    if (typeof r === "string") {
      textAt.push(i);
      texts.push(r);
      records.push(EMPTY);
    } else if (r && typeof r === "object" && typeof (r as { base64?: unknown }).base64 === "string") {
      const bytes = fromBase64((r as { base64: string }).base64);
      if (!bytes) return { error: errorResponse(400, "bad_batch", `records[${i}].base64 is not valid base64`) };
      records.push(bytes);
    } else return { error: errorResponse(400, "bad_batch", `records[${i}] must be a string or {"base64": "..."}`) };
  }
  const encoded = encodeTexts(texts);
  for (let k = 0; k < textAt.length; k++) records[textAt[k]] = encoded[k];
  return { records };
}

function textOrNull(b: Uint8Array): string | null {
  try {
    return decodeUtf8Strict(b);
  } catch {
    return null;
  }
}

export const topicRoutes: Route[] = [
  {
    path: "/v1/topics",
    methods: { GET: { cls: "read", run: ({ svc }) => jsonResponse(200, { topics: svc.log.topics() }) } },
  },
  {
    path: /^\/v1\/topics\/([^/]+)\/records$/,
    decode: decodeTopic,
    methods: {
      GET: {
        cls: "read",
        run: ({ svc, query, params: [topic] }) => {
          const from = offsetParam(query, "from", 0);
          const max = limitParam(query, "max", 100, 1000);
          if (typeof from !== "number") return from;
          if (typeof max !== "number") return max;
          const records = svc.log.read(topic, from, max);
          const b64 = toBase64All(records.map((r) => r.payload));
          return jsonResponse(200, {
            topic,
            records: records.map((r, i) => ({ offset: r.offset, timestamp_ms: r.timestampMs, value: textOrNull(r.payload), value_base64: b64[i] })),
            next: records.length ? records[records.length - 1].offset + 1 : from,
          });
        },
      },
      POST: {
        cls: "write",
        run: ({ req, svc, params: [topic] }) => {
          if (req.body === null) return errorResponse(413, "too_large", `body is larger than ${MAX_BODY_BYTES} bytes`);
          const batch = parseBatch(req);
          if ("error" in batch) return batch.error;
          const offsets = "packed" in batch ? svc.log.appendPacked(topic, batch.packed) : svc.log.append(topic, batch.records);
          return jsonResponse(200, { topic, offsets });
        },
      },
    },
  },
];
