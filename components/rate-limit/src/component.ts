// Wiring only: keel:rate-limit/limiter → limits.ts, state in the /data preopen.
import { nodeConfig } from "../../storage/src/node-config.ts";
import { WasiDir } from "../../storage/src/wasi-dir.ts";
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
