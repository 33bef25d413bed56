// Wiring only: keel:rate-limit/limiter → limits.ts, state in the /data preopen.
import { nodeConfig } from "@keel/wasi-dir/node-config";
import { WasiDir } from "@keel/wasi-dir/wasi";
import { Limiter, limitSettings, type Identity } from "./limits.ts";

let limiter: Limiter | undefined;
function current(): Limiter {
  if (!limiter) {
    limiter = new Limiter(WasiDir.open(), limitSettings(nodeConfig().config));
  }
  return limiter;
}

// QuickJS passes u64 as a number.
export { api as limiter };
const api = {
  check: (routeClass: string, who: Identity, nowMs: number) => current().check(routeClass, who, nowMs),
  counters: () => current().counters(),
};
