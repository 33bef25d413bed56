// The gateway's two exports over one router: wasi:http/incoming-handler (wasmtime serve) and
// keel:gateway/http (the Node host, which serves HTTP itself). Both count every request for
// /_keel/metrics (storage's keel:storage/admin.record-requests: a few bytes appended to the
// instance's own file) and write the trace and error lines [observability] asks for.
import type * as IncomingHandler from "wasi:http/incoming-handler@0.2.12";
import type * as Http from "keel:gateway/http@0.1.0";
import type { RequestSample } from "keel:storage/admin@0.1.0";
import { logEnabled, formatLogLine } from "@keel/config/log";
import { CLIENT_ABORTS, handle, MAX_BODY_BYTES, type RouteInfo, type Services } from "./router.ts";
import { serve } from "./wasi-http-server.ts";
import { headerMap, type Request, type Response } from "./http-types.ts";
import { errorCodeOf } from "./errors.ts";
import type { Counter } from "./services.ts";

export interface GatewayExports {
  incomingHandler: typeof IncomingHandler;
  http: typeof Http;
}

export function gatewayExports(svc: Services, afterResponse?: () => void): GatewayExports {
  const countAbort = () => {
    try {
      svc.admin.recordEvent(CLIENT_ABORTS);
    } catch {
      // a counter is not worth failing over
    }
  };

  // Samples not handed to storage yet: health checks on the Node host wait for the next other
  // request (they must not instantiate a lazy storage component).
  let waiting: RequestSample[] = [];
  let events: Counter[] = [{ name: 'keel_component_instantiations_total{component="gateway"}', value: 1 }];
  const record = (sample: RequestSample, now: boolean) => {
    waiting.push(sample);
    if (!now) return;
    try {
      svc.admin.recordRequests(waiting, events);
    } catch {
      // counts are not worth failing a request over
    }
    waiting = [];
    events = [];
  };

  /**
   * Route one request; its sample for the metrics; a trace line when sampled ([observability]
   * trace_sampling, or every request at log = "debug") and an error line for a 5xx. The trace
   * id is the W3C `traceparent`'s, else a new one.
   */
  const routed = (req: Request): { res: Response; sample: RequestSample } => {
    const t0 = svc.clockNs();
    const info: RouteInfo = {};
    const res = handle(req, svc, info);
    const nanos = svc.clockNs() - t0;
    const cls = info.cls ?? "none";
    const error = res.status >= 400 ? errorCodeOf(res) ?? `http_${res.status}` : "";
    const { log, node } = svc.observability();
    const level = res.status >= 500 ? "error" : log.traceSampling > 0 && svc.random() < log.traceSampling ? "info" : "debug";
    if (logEnabled(log, level)) {
      const trace = /^\w\w-(\w{32})-/.exec(req.headers.get("traceparent") ?? "")?.[1] ?? svc.randomHex() + Date.now().toString(16).padStart(16, "0");
      svc.writeLog(formatLogLine(log.format, level, "request", {
        component: "gateway", node, method: req.method, path: req.pathWithQuery.split("?")[0], class: cls,
        status: res.status, ms: +(nanos / 1e6).toFixed(3), error: error || undefined, trace_id: trace,
      }));
    }
    return { res, sample: { routeClass: cls, status: res.status, micros: Math.round(nanos / 1000), error, cachedToken: info.cached } };
  };

  return {
    incomingHandler: {
      handle(incoming, outparam) {
        // NOTE: the count is written before the response goes out. After it, the instance would
        // still be busy when a client's next request came (wasmtime serve then instantiates
        // another): sequential requests went from ~2 to ~3–15 ms that way.
        const complete = serve(incoming, outparam, MAX_BODY_BYTES, (req) => {
          const r = routed(req);
          record(r.sample, true);
          return r.res;
        });
        if (!complete) countAbort();
        afterResponse?.();
      },
    },
    http: {
      handle(req) {
        const body = req.body.tag === "bytes" ? req.body.val : null;
        const r = routed({ method: req.method, pathWithQuery: req.pathWithQuery, headers: headerMap(req.headers), body });
        record(r.sample, r.sample.routeClass !== "health");
        return r.res;
      },
      maxBodyBytes: () => MAX_BODY_BYTES,
      clientAborted: countAbort,
    },
  };
}
