// Wiring only: keel:rate-limit/limiter → limits.ts, state in the /data preopen.
import { nodeConfig } from "@keel/wasi-dir/node-config";
import { WasiDir } from "@keel/wasi-dir/wasi";
import { Limiter, limitSettings } from "./limits.ts";
import type * as Api from "keel:rate-limit/limiter@0.1.0";

let limiter: Limiter | undefined;
function current(): Limiter {
  if (!limiter) {
    limiter = new Limiter(WasiDir.open(), limitSettings(nodeConfig().config));
  }
  return limiter;
}

export { api as limiter };
const api: typeof Api = {
  check: (routeClass, who, nowMs) => current().check(routeClass, who, nowMs),
  counters: () => current().counters(),
};
