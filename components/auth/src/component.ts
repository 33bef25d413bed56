// Wiring only: keel:auth/verifier → policy.ts, settings from the host's KEEL_NODE_CONFIG.
import { nodeConfig } from "@keel/wasi-dir/node-config";
import { authorize, authSettings, type AuthSettings } from "./policy.ts";
import type * as Verifier from "keel:auth/verifier@0.1.0";

let settings: AuthSettings | undefined;
function current(): AuthSettings {
  if (!settings) {
    // A damaged config leaves auth closed (no keys).
    const { config, env } = nodeConfig();
    settings = authSettings(config, env);
  }
  return settings;
}

export const verifier: typeof Verifier = {
  authorize: (routeClass, authorization, nowMs) => authorize(current(), routeClass, authorization, nowMs),
};
