// Wiring only: keel:auth/verifier → policy.ts, settings from the host's KEEL_NODE_CONFIG.
import { getEnvironment } from "wasi:cli/environment@0.2.12";
import { authorize, authSettings, type AuthSettings } from "./policy.ts";

let settings: AuthSettings | undefined;
function current(): AuthSettings {
  if (!settings) {
    const env = new Map(getEnvironment());
    let config: unknown = {};
    try {
      config = JSON.parse(env.get("KEEL_NODE_CONFIG") ?? "{}");
    } catch {
      // the host validates the config; a damaged variable leaves auth closed (no keys)
    }
    settings = authSettings(config, env);
  }
  return settings;
}

export const verifier = {
  // QuickJS passes u64 as a number.
  authorize: (routeClass: string, authorization: string | null, nowMs: number) => authorize(current(), routeClass, authorization, nowMs),
};
