// The node's configuration inside a component: the hosts pass the parsed edge.toml as JSON in
// KEEL_NODE_CONFIG (the Node host via preview2-shim, `pnpm serve` via `wasmtime serve --env`).
import { getEnvironment } from "wasi:cli/environment@0.2.12";

/** The parsed config (empty when the variable is missing or damaged: the host reports bad files) and the environment. */
export function nodeConfig(): { config: unknown; env: Map<string, string> } {
  const env = new Map(getEnvironment());
  try {
    return { config: JSON.parse(env.get("KEEL_NODE_CONFIG") ?? "{}"), env };
  } catch {
    return { config: {}, env };
  }
}
