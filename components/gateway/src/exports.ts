// The gateway's two exports over one router: wasi:http/incoming-handler (wasmtime serve) and
// keel:gateway/http (the Node host, which serves HTTP itself).
import type * as IncomingHandler from "wasi:http/incoming-handler@0.2.12";
import type * as Http from "keel:gateway/http@0.1.0";
import { CLIENT_ABORTS, handle, MAX_BODY_BYTES, type Services } from "./router.ts";
import { serve } from "./wasi-http-server.ts";
import { headerMap } from "./http-types.ts";

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
  return {
    incomingHandler: {
      handle(incoming, outparam) {
        if (!serve(incoming, outparam, MAX_BODY_BYTES, (req) => handle(req, svc))) countAbort();
        afterResponse?.();
      },
    },
    http: {
      handle(req) {
        const body = req.body.tag === "bytes" ? req.body.val : null;
        return handle({ method: req.method, pathWithQuery: req.pathWithQuery, headers: headerMap(req.headers), body }, svc);
      },
      maxBodyBytes: () => MAX_BODY_BYTES,
      clientAborted: countAbort,
    },
  };
}
