// wasi:http/incoming-handler → the router, without ever trapping: a body that ends early or
// arrives as broken chunked encoding is answered 400, a client that leaves while the response
// is written is counted, and the response outparam is always set. (A trap would throw away a
// reused instance and its warm state — and show the client a bare 500.)
import { Fields, IncomingBody, OutgoingBody, OutgoingResponse, ResponseOutparam } from "wasi:http/types@0.2.12";
import type { IncomingRequest } from "wasi:http/types@0.2.12";
import { headerMap, type Request, type Response } from "./http-types.ts";
import { errorResponse } from "./errors.ts";
import { decodeText, encodeText } from "./text.ts";
import { dispose, readAll } from "./wasi-streams.ts";

const METHODS: Record<string, string> = {
  get: "GET", head: "HEAD", post: "POST", put: "PUT", delete: "DELETE",
  connect: "CONNECT", options: "OPTIONS", trace: "TRACE", patch: "PATCH",
};

type ReadResult = { request: Request } | { refuse: Response };

/** The request as plain data; the body only for methods that carry one. */
export function readRequest(incoming: IncomingRequest, maxBodyBytes: number): ReadResult {
  const m = incoming.method();
  const method = m.tag === "other" ? String(m.val).toUpperCase() : METHODS[m.tag] ?? String(m.tag).toUpperCase();
  // The headers are a child of the request: dropped now, not whenever the garbage collector
  // gets to them — a request collected before its headers traps ("resource has children").
  const fields = incoming.headers();
  const headers = headerMap(fields.entries().map(([name, value]) => [name, decodeText(value)] as [string, string]));
  dispose(fields);
  const request: Request = { method, pathWithQuery: incoming.pathWithQuery() ?? "/", headers, body: new Uint8Array(0) };
  const cl = headers.get("content-length");
  if (cl !== undefined && !/^\d{1,15}$/.test(cl.trim())) return { refuse: errorResponse(400, "bad_request", "content-length is not a whole number") };
  if (cl !== undefined && Number(cl) > maxBodyBytes) {
    request.body = null; // the router answers 413 without reading any of it
    return { request };
  }
  if (method !== "PUT" && method !== "POST" && method !== "PATCH") return { request };
  const body = readBody(incoming, maxBodyBytes);
  if (body === "broken") return { refuse: errorResponse(400, "bad_body", "the request body ended early or is not valid chunked encoding") };
  request.body = body === "too-large" ? null : body;
  return { request };
}

/** The whole body; "too-large" once it passes `max` (reading stops there); "broken" when it breaks off. */
function readBody(incoming: IncomingRequest, max: number): ReturnType<typeof readAll> {
  let body: IncomingBody;
  try {
    body = incoming.consume();
  } catch {
    return "broken";
  }
  try {
    return readAll(body.stream(), max);
  } finally {
    dispose(body);
  }
}

/** The outgoing response for `res`; a plain 500 when the host refuses one of its headers. */
function outgoing(res: Response): OutgoingResponse {
  try {
    const fields = Fields.fromList(res.headers.map(([k, v]) => [k, encodeText(v)] as [string, Uint8Array]));
    const response = new OutgoingResponse(fields);
    response.setStatusCode(res.status);
    return response;
  } catch {
    const fallback = errorResponse(500, "internal", "the response had a header the host refused");
    res.body = fallback.body;
    const response = new OutgoingResponse(Fields.fromList([["content-type", encodeText("application/json")]]));
    response.setStatusCode(500);
    return response;
  }
}

/**
 * Send `res`. Returns false when the client was gone before all of it was written (the caller
 * counts it); never throws once the outparam is set.
 */
export function writeResponse(res: Response, outparam: ResponseOutparam): boolean {
  const response = outgoing(res);
  const body = response.body();
  ResponseOutparam.set(outparam, { tag: "ok", val: response });
  let complete = true;
  const out = body.write();
  try {
    // NOTE: blocking-write-and-flush takes at most 4096 bytes per call.
    for (let i = 0; i < res.body.length; i += 4096) out.blockingWriteAndFlush(res.body.subarray(i, i + 4096));
  } catch {
    complete = false;
  }
  dispose(out);
  try {
    OutgoingBody.finish(body, null);
  } catch {
    complete = false;
  }
  return complete;
}

/** One request: read, route (anything thrown becomes a JSON 500), respond. False: client aborted. */
export function serve(incoming: IncomingRequest, outparam: ResponseOutparam, maxBodyBytes: number, route: (req: Request) => Response): boolean {
  let res: Response;
  try {
    const r = readRequest(incoming, maxBodyBytes);
    res = "refuse" in r ? r.refuse : route(r.request);
  } catch (e) {
    res = errorResponse(500, "internal", e instanceof Error ? e.message : String(e));
  }
  return writeResponse(res, outparam);
}
