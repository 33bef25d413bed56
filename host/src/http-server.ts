// The Node host's HTTP server: node:http in front of the gateway's keel:gateway/http export
// (plain records), so a request costs one synchronous component call — no wasi:http resources
// and no worker thread in between (preview2-shim's HTTPServer took ~20 ms a request).
import http from "node:http";
import type { Socket } from "node:net";

export interface PlainRequest {
  method: string;
  pathWithQuery: string;
  headers: [string, string][];
  body: { tag: "bytes"; val: Uint8Array } | { tag: "too-large" };
}

export interface PlainResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}

export interface GatewayHttp {
  handle(req: PlainRequest): PlainResponse;
  maxBodyBytes(): number;
  clientAborted(): void;
}

const BAD_REQUEST = JSON.stringify({ error: "bad_request", message: "malformed HTTP request (bad framing, chunked encoding or headers)" }) + "\n";

function headersOf(req: http.IncomingMessage): [string, string][] {
  const out: [string, string][] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i].toLowerCase(), raw[i + 1]]);
  return out;
}

const METRICS_PATH = /^\/_keel\/metrics(?:\?|$)/;

/**
 * `extraMetrics`: Prometheus text appended to a successful /_keel/metrics answer (what only
 * the host knows: host-metrics.ts). `asyncRoute`: a request the host answers itself, returning
 * a promise (a cloud gateway's push and pull on JetStream: cloud/routes.ts); undefined for the
 * rest, which go to the gateway component.
 */
export function createServer(gateway: () => GatewayHttp, onError: (e: unknown) => void, extraMetrics?: () => string, asyncRoute?: (req: PlainRequest) => Promise<PlainResponse> | undefined): http.Server {
  const server = http.createServer({ keepAlive: true }, (req, res) => {
    const gw = gateway();
    const max = gw.maxBodyBytes();
    const chunks: Buffer[] = [];
    let total = 0;
    let tooLarge = Number(req.headers["content-length"] ?? 0) > max;
    const internal = (e: unknown): PlainResponse => {
      onError(e);
      return { status: 500, headers: [["content-type", "application/json"]], body: Buffer.from(JSON.stringify({ error: "internal", message: String((e as Error)?.message ?? e) }) + "\n") };
    };
    const respond = () => {
      const plain: PlainRequest = {
        method: req.method ?? "GET",
        pathWithQuery: req.url ?? "/",
        headers: headersOf(req),
        body: tooLarge ? { tag: "too-large" } : { tag: "bytes", val: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total) },
      };
      const pending = asyncRoute?.(plain);
      if (pending) {
        pending.catch(internal).then((out) => send(out));
        return;
      }
      let out: PlainResponse;
      try {
        out = gw.handle(plain);
      } catch (e) {
        out = internal(e);
      }
      if (extraMetrics && out.status === 200 && METRICS_PATH.test(req.url ?? "")) {
        try {
          out = { ...out, body: Buffer.concat([out.body, Buffer.from(extraMetrics())]) };
        } catch (e) {
          onError(e);
        }
      }
      send(out);
    };
    const send = (out: PlainResponse) => {
      res.on("close", () => {
        if (!res.writableFinished) gw.clientAborted();
      });
      res.writeHead(out.status, out.headers.flat());
      res.end(out.body);
      // The rest of an over-limit body is not read: close the connection after answering.
      if (tooLarge) req.socket.end();
    };
    if (tooLarge || req.method === "GET" || req.method === "HEAD" || req.method === "DELETE") {
      if (tooLarge) req.pause();
      else req.resume();
      return respond();
    }
    req.on("data", (c: Buffer) => {
      if (tooLarge) return;
      total += c.length;
      if (total > max) {
        tooLarge = true;
        chunks.length = 0;
        req.pause();
        respond();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => {
      if (!tooLarge) respond();
    });
    // A body that ends early (the client closed with Content-Length unmet): nobody to answer.
    req.on("error", () => undefined);
  });
  // Bad framing or chunked encoding: a JSON 400, then close — the request never reaches the router.
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === "ECONNRESET" || !socket.writable) return socket.destroy();
    socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(BAD_REQUEST)}\r\nconnection: close\r\n\r\n${BAD_REQUEST}`);
  });
  return server;
}
