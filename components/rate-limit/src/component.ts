// Wiring only: keel:rate-limit/limiter → limits.ts, state in the /data preopen.
import { getEnvironment } from "wasi:cli/environment@0.2.12";
import { WasiDir } from "../../storage/src/wasi-dir.ts";
import { Limiter, limitSettings, type Identity } from "./limits.ts";

let limiter: Limiter | undefined;
function current(): Limiter {
  if (!limiter) {
    let config: unknown = {};
    try {
      config = JSON.parse(new Map(getEnvironment()).get("KEEL_NODE_CONFIG") ?? "{}");
    } catch {
      // the host validates the config file
    }
    limiter = new Limiter(WasiDir.open(), limitSettings(config));
  }
  return limiter;
}

// QuickJS passes u64 as a number.
export { api as limiter };
const api = {
  check: (routeClass: string, who: Identity, nowMs: number) => current().check(routeClass, who, nowMs),
  counters: () => current().counters(),
};
