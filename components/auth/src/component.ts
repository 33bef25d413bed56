// Wiring only: keel:auth/verifier → policy.ts, settings from the host's KEEL_NODE_CONFIG.
import { nodeConfig } from "@keel/wasi-dir/node-config";
import { authorize, authSettings, type AuthSettings } from "./policy.ts";

let settings: AuthSettings | undefined;
function current(): AuthSettings {
  if (!settings) {
    // A damaged config leaves auth closed (no keys).
    const { config, env } = nodeConfig();
    settings = authSettings(config, env);
  }
  return settings;
}

export const verifier = {
  // QuickJS passes u64 as a number.
  authorize: (routeClass: string, authorization: string | null, nowMs: number) => authorize(current(), routeClass, authorization, nowMs),
};
