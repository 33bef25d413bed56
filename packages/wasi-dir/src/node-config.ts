// The node's configuration inside a component: the hosts pass the parsed edge.toml as JSON in
// KEEL_NODE_CONFIG (the Node host via preview2-shim, `pnpm serve` via `wasmtime serve --env`).
// The host validated it against @keel/config and applied the defaults, so it is typed here.
import { getEnvironment } from "wasi:cli/environment@0.2.12";
import type { NodeConfig } from "@keel/config";

/** The validated config (empty when the variable is missing or damaged: the host reports bad files) and the environment. */
export function nodeConfig(): { config: Partial<NodeConfig>; env: Map<string, string> } {
  const env = new Map(getEnvironment());
  try {
    return { config: JSON.parse(env.get("KEEL_NODE_CONFIG") ?? "{}"), env };
  } catch {
    return { config: {}, env };
  }
}
