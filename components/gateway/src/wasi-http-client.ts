// A blocking HTTP client on wasi:http/outgoing-handler, for sync runs (the gateway handles one
// request at a time, so blocking is fine). No URL global under QuickJS: parseUrl does the split.
import { Fields, OutgoingBody, OutgoingRequest } from "wasi:http/types@0.2.12";
import { handle as send } from "wasi:http/outgoing-handler@0.2.12";
import type { HttpResponse } from "./sync-runner.ts";
import { dispose, readAll } from "./wasi-streams.ts";
import { encodeText } from "./text.ts";

const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** `http(s)://authority/path?query` → its parts; throws on anything else. */
export function parseUrl(url: string): { https: boolean; authority: string; pathWithQuery: string } {
  const m = /^(https?):\/\/([^/?#\s]+)([^#\s]*)$/i.exec(url);
  if (!m) throw new Error(`not an http(s) URL: ${url.slice(0, 200)}`);
  return { https: m[1].toLowerCase() === "https", authority: m[2], pathWithQuery: m[3] || "/" };
}


export function request(method: "GET" | "POST", url: string, headers: [string, string][], body: Uint8Array | null): HttpResponse {
  const u = parseUrl(url);
  const req = new OutgoingRequest(Fields.fromList(headers.map(([k, v]) => [k, encodeText(v)] as [string, Uint8Array])));
  req.setMethod({ tag: method === "GET" ? "get" : "post" });
  req.setScheme({ tag: u.https ? "HTTPS" : "HTTP" });
  req.setAuthority(u.authority);
  req.setPathWithQuery(u.pathWithQuery);
  const outBody = req.body();
  const bodyStream = outBody.write();
  // NOTE: send first, then stream the body: the host buffers only one write before the request
  // is on its way, so writing a body over 4 KiB before sending would wait forever.
  const future = send(req, null);
  if (body) for (let i = 0; i < body.length; i += 4096) bodyStream.blockingWriteAndFlush(body.subarray(i, i + 4096));
  dispose(bodyStream);
  OutgoingBody.finish(outBody, null);
  future.subscribe().block();
  const result = future.get();
  if (!result || result.tag !== "ok") throw new Error("the response was already taken");
  if (result.val.tag !== "ok") throw new Error(`HTTP error: ${JSON.stringify(result.val.val)}`);
  const response = result.val.val;
  const status = response.status();
  const incoming = response.consume();
  try {
    const body = readAll(incoming.stream(), MAX_RESPONSE_BYTES);
    if (body === "too-large") throw new Error("response too large");
    // A response that breaks off is an error the run retries, not a body to parse.
    if (body === "broken") throw new Error("the response broke off before its end");
    return { status, body };
  } finally {
    dispose(incoming);
  }
}
