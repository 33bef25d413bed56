// A blocking HTTP client on wasi:http/outgoing-handler, for sync runs (the gateway handles one
// request at a time, so blocking is fine). No URL global under QuickJS: parseUrl does the split.
import { Fields, OutgoingBody, OutgoingRequest, RequestOptions } from "wasi:http/types@0.2.12";
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


export function request(method: "GET" | "POST", url: string, headers: [string, string][], body: Uint8Array | null, timeoutMs?: number): HttpResponse {
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
  let options: RequestOptions | null = null;
  if (timeoutMs) {
    options = new RequestOptions();
    const ns = Math.round(timeoutMs * 1e6); // a u64 duration in ns (a number under QuickJS)
    options.setConnectTimeout(ns);
    options.setFirstByteTimeout(ns);
    options.setBetweenBytesTimeout(ns);
  }
  const future = send(req, options);
  // NOTE: every child resource (the body stream, the pollable, the response body) is dropped
  // before its parent, on the error paths too — a peer that refuses the connection fails the
  // write — or a parent collected first traps the instance ("resource has children").
  let sent: unknown = null;
  try {
    if (body) for (let i = 0; i < body.length; i += 4096) bodyStream.blockingWriteAndFlush(body.subarray(i, i + 4096));
  } catch (e) {
    sent = e;
  }
  dispose(bodyStream);
  try {
    OutgoingBody.finish(outBody, null);
  } catch (e) {
    sent ??= e;
  }
  const ready = future.subscribe();
  ready.block();
  dispose(ready);
  try {
    const result = future.get();
    if (!result || result.tag !== "ok") throw new Error("the response was already taken");
    if (result.val.tag !== "ok") throw new Error(`HTTP error: ${JSON.stringify(result.val.val)}`);
    if (sent) throw sent;
    const response = result.val.val;
    try {
      const status = response.status();
      const incoming = response.consume();
      try {
        const body = readAll(incoming.stream(), MAX_RESPONSE_BYTES); // disposes the stream
        if (body === "too-large") throw new Error("response too large");
        // A response that breaks off is an error the run retries, not a body to parse.
        if (body === "broken") throw new Error("the response broke off before its end");
        return { status, body };
      } finally {
        dispose(incoming);
      }
    } finally {
      dispose(response);
    }
  } finally {
    dispose(future);
  }
}
